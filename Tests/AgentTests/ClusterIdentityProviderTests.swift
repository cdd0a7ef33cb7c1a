import Foundation
import KubeClient
import Policy
import SluiceAPI
import SluiceTestSupport
import XCTest

@testable import Agent

/// The hook for cluster-wide identities: a provider plugged into the agent numbers every label
/// set of its endpoints and of other nodes' pods, its numbers are the ones compiled, and one that
/// fails holds the API's changes back (reported in `sluice status`) until it answers.
final class ClusterIdentityProviderTests: XCTestCase {
    /// Numbers label sets from 70000 in first-seen order; fails while `failures` > 0.
    final class Numbering: ClusterIdentityProvider, @unchecked Sendable {
        private let lock = NSLock()
        private var known: [[String]: UInt32] = [:]
        var failures = 0
        private(set) var calls = 0

        func identities(for labelSets: [[String]]) throws -> [[String]: UInt32] {
            lock.lock()
            defer { lock.unlock() }
            calls += 1
            if failures > 0 {
                failures -= 1
                throw KubeError("the API refused the identity")
            }
            var out: [[String]: UInt32] = [:]
            for labels in labelSets {
                let key = labels.sorted()
                if known[key] == nil { known[key] = 70000 + UInt32(known.count) }
                out[labels] = known[key]
            }
            return out
        }

        func number(of labels: [String]) -> UInt32? {
            lock.lock()
            defer { lock.unlock() }
            return known[labels.sorted()]
        }
    }

    private var server: FakeAPIServer!
    private var stateDirectory = ""
    private var agent: Agent?

    override func setUpWithError() throws {
        server = try FakeAPIServer(["--load", FakeAPIServer.root + "/deploy/cilium-crds/policies.yaml"])
        stateDirectory = try NodePolicyTests.temporaryDirectory()
    }

    override func tearDown() {
        agent?.stopKubernetes()
        server?.close()
        NodePolicyTests.removeTree(stateDirectory)
    }

    private func startAgent(_ provider: Numbering) throws -> Agent {
        var options = AgentCommandLine.defaults
        options.stateDirectory = stateDirectory
        options.nodeName = "n1"
        options.kubernetes = .kubeconfig(server.dir + "/kubeconfig")
        options.clusterIdentities = { _ in provider }
        let agent = Agent(options: options)
        agent.policy.endpoints = TestPolicy.endpoints
        agent.fileEndpoints = TestPolicy.endpoints
        try agent.startKubernetes(backoff: Backoff(initial: 0.05, maximum: 0.4))
        self.agent = agent
        return agent
    }

    private func inForce(_ agent: Agent) -> (keys: [String], snapshot: PolicySnapshot) {
        agent.lock.lock()
        defer { agent.lock.unlock() }
        return (agent.policy.repository.keys.map(\.name), agent.policy.snapshot)
    }

    func testTheProvidersNumbersAreCompiledForLocalAndRemotePods() throws {
        let pod =
            #"{"metadata":{"name":"client-n2","namespace":"default","labels":{"app":"client"}},"spec":{"nodeName":"n2","containers":[{"name":"c","image":"x"}]}}"#
        XCTAssertEqual(try server.request("POST", "/api/v1/namespaces/default/pods", body: pod), 201)
        XCTAssertEqual(
            try server.request(
                "PATCH", "/api/v1/namespaces/default/pods/client-n2/status", body: #"{"status":{"podIP":"10.1.0.5"}}"#,
                contentType: "application/merge-patch+json"), 200)
        XCTAssertEqual(
            try server.request(
                "POST", "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies",
                body: KubePolicySyncTests.cnp("a")),
            201)
        let provider = Numbering()
        let agent = try startAgent(provider)
        try poll("the policy in force") {
            inForce(agent).keys == ["a"] && inForce(agent).snapshot.ipcacheEntries().count > 3
        }
        let snapshot = inForce(agent).snapshot
        let client = try XCTUnwrap(snapshot.identity(ofEndpoint: TestPolicy.clientID))
        let backend = try XCTUnwrap(snapshot.identity(ofEndpoint: TestPolicy.backendID))
        XCTAssertGreaterThanOrEqual(client, 70000, "the provider's number, not the agent's own")
        XCTAssertGreaterThanOrEqual(backend, 70000)
        XCTAssertEqual(provider.number(of: snapshot.identityLabels(client)), client)
        let remote = snapshot.ipcacheEntries().first { $0.ipv4 == UInt32(bigEndian: 0x0A01_0005) }?.identity
        XCTAssertEqual(remote, client, "the same labels on another node: the same number")
        let status = agent.handle(ControlRequest(op: .status)).message
        XCTAssertTrue(status.contains("  identities: cluster-wide\n"), status)
    }

    func testAFailingProviderHoldsTheChangeBackUntilItAnswers() throws {
        XCTAssertEqual(
            try server.request(
                "POST", "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies",
                body: KubePolicySyncTests.cnp("a")),
            201)
        let provider = Numbering()
        provider.failures = 3
        let agent = try startAgent(provider)
        // No new event after the lists: the retry alone brings the policy in.
        try poll("the policy after the provider answers", deadline: 20) { inForce(agent).keys == ["a"] }
        XCTAssertGreaterThanOrEqual(provider.calls, 4)
        let status = agent.handle(ControlRequest(op: .status)).message
        XCTAssertTrue(status.contains("  identities: cluster-wide\n"), "the error is gone once it answers: \(status)")
    }
}
