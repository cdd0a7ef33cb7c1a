import Foundation
import KubeClient
import Policy
import SluiceAPI
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import Agent

/// The real cluster-wide allocator plugged into two agents ("nodes" n1 and n2) against one fake
/// API server with the SluiceIdentity CRD: both compile the same numbers for the same labels
/// (their own endpoints, and the other node's pod), taken from the API's SluiceIdentity objects.
final class ClusterIdentitiesAgentTests: XCTestCase {
    private var server: FakeAPIServer!
    private var directories: [String] = []
    private var agents: [Agent] = []

    override func setUpWithError() throws {
        server = try FakeAPIServer([
            "--load", FakeAPIServer.root + "/deploy/cilium-crds/policies.yaml",
            "--load", FakeAPIServer.root + "/deploy/01-sluice-identity-crd.yaml",
        ])
    }

    override func tearDown() {
        for agent in agents {
            agent.stopKubernetes()
            (agent.identityProvider as? ClusterIdentities)?.stop()
        }
        server?.close()
        directories.forEach { NodePolicyTests.removeTree($0) }
    }

    func testTheOptionIsSetWithTheAPIOnly() {
        var options = AgentCommandLine.defaults
        options.useClusterIdentitiesWithKubernetes()
        XCTAssertNil(options.clusterIdentities, "no API: the agent numbers identities itself")
        options.kubernetes = .kubeconfig("/nonexistent")
        options.useClusterIdentitiesWithKubernetes()
        XCTAssertNotNil(options.clusterIdentities)
    }

    private func startAgent(_ node: String) throws -> Agent {
        var options = AgentCommandLine.defaults
        let directory = try NodePolicyTests.temporaryDirectory()
        directories.append(directory)
        options.stateDirectory = directory
        options.nodeName = node
        options.kubernetes = .kubeconfig(server.dir + "/kubeconfig")
        options.useClusterIdentitiesWithKubernetes()
        let agent = Agent(options: options)
        agent.policy.endpoints = TestPolicy.endpoints
        agent.fileEndpoints = TestPolicy.endpoints
        try agent.startKubernetes(backoff: Backoff(initial: 0.05, maximum: 0.4))
        agents.append(agent)
        return agent
    }

    private func inForce(_ agent: Agent) -> (keys: [String], snapshot: PolicySnapshot) {
        agent.lock.lock()
        defer { agent.lock.unlock() }
        return (agent.policy.repository.keys.map(\.name), agent.policy.snapshot)
    }

    func testTwoAgentsNumberTheSameLabelsAlike() throws {
        let pod =
            #"{"metadata":{"name":"remote","namespace":"default","labels":{"app":"remote"}},"spec":{"nodeName":"n3","containers":[{"name":"c","image":"x"}]}}"#
        XCTAssertEqual(try server.request("POST", "/api/v1/namespaces/default/pods", body: pod), 201)
        XCTAssertEqual(
            try server.request(
                "PATCH", "/api/v1/namespaces/default/pods/remote/status", body: #"{"status":{"podIP":"10.1.0.9"}}"#,
                contentType: "application/merge-patch+json"), 200)
        XCTAssertEqual(
            try server.request(
                "POST", "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies",
                body: KubePolicySyncTests.cnp("a")),
            201)
        let n1 = try startAgent("n1")
        let n2 = try startAgent("n2")
        func remoteIdentity(_ agent: Agent) -> UInt32? {
            inForce(agent).snapshot.ipcacheEntries().first { $0.ipv4 == UInt32(bigEndian: 0x0A01_0009) }?.identity
        }
        for agent in [n1, n2] {
            try poll("the policy and the remote pod in force", deadline: 20) {
                inForce(agent).keys == ["a"] && remoteIdentity(agent) != nil
            }
        }
        let s1 = inForce(n1).snapshot
        let s2 = inForce(n2).snapshot
        for id in [TestPolicy.clientID, TestPolicy.backendID] {
            let number = try XCTUnwrap(s1.identity(ofEndpoint: id))
            XCTAssertEqual(s2.identity(ofEndpoint: id), number, "endpoint \(id)")
            XCTAssertTrue(ClusterIdentitiesModel.range.contains(number), "\(number)")
        }
        XCTAssertEqual(remoteIdentity(n1), remoteIdentity(n2))
        // Each number is a SluiceIdentity in the API with the labels the agent compiled.
        let remote = try XCTUnwrap(remoteIdentity(n1))
        let (status, body) = try HTTPSClient(config: try KubeConfig.load(path: server.dir + "/kubeconfig")).getAll(
            ClusterIdentitiesModel.resourcePath + "/" + String(remote), shouldStop: { false })
        XCTAssertEqual(status, 200)
        let entry = try XCTUnwrap(ClusterIdentitiesModel.entry(try JSONValue.parse(body)))
        XCTAssertEqual(entry.labels, ClusterIdentitiesModel.normalized(s1.identityLabels(remote)))
        XCTAssertEqual(Set(entry.holders.keys), ["n1", "n2"])
        let status1 = n1.handle(ControlRequest(op: .status)).message
        XCTAssertTrue(status1.contains("  identities: cluster-wide\n"), status1)
    }
}
