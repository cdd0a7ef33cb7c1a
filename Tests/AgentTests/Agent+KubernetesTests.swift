import Foundation
import KubeClient
import Policy
import SluiceAPI
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import Agent

/// The agent fed by the fake API server (the control path without a datapath: repository,
/// snapshot, `sluice status`, `sluice apply`): a CNP added, modified and deleted through the API;
/// an invalid CNP reported while the valid ones apply; a forced relist with no moment without a
/// policy; the server stopped and started with the policy in force unchanged meanwhile; pods of
/// another node in the ipcache with their identity.
final class AgentKubernetesTests: XCTestCase {
    fileprivate var server: FakeAPIServer!
    fileprivate var stateDirectory = ""
    fileprivate var agent: Agent?
    fileprivate let cnpPath = "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies"

    override func setUpWithError() throws {
        server = try FakeAPIServer(["--load", FakeAPIServer.root + "/deploy/cilium-crds/policies.yaml"])
        stateDirectory = try NodePolicyTests.temporaryDirectory()
    }

    override func tearDown() {
        agent?.stopKubernetes()
        server?.close()
        NodePolicyTests.removeTree(stateDirectory)
    }

    fileprivate func startAgent() throws -> Agent {
        var options = AgentCommandLine.defaults
        options.stateDirectory = stateDirectory
        options.nodeName = "n1"
        options.kubernetes = .kubeconfig(server.dir + "/kubeconfig")
        let agent = Agent(options: options)
        agent.policy.endpoints = TestPolicy.endpoints
        agent.fileEndpoints = TestPolicy.endpoints
        try agent.startKubernetes(backoff: Backoff(initial: 0.05, maximum: 0.4))
        self.agent = agent
        return agent
    }

    fileprivate func keys(_ agent: Agent) -> [String] {
        agent.lock.lock()
        defer { agent.lock.unlock() }
        return agent.policy.repository.keys.map(\.name)
    }

    fileprivate func ports(_ agent: Agent) -> [UInt16] {
        agent.lock.lock()
        defer { agent.lock.unlock() }
        return agent.policy.snapshot.l7Ports.map(\.port)
    }

    fileprivate func status(_ agent: Agent) -> String { agent.handle(ControlRequest(op: .status)).message }

    func testACNPAddedModifiedAndDeletedAndAnInvalidOneReported() throws {
        XCTAssertEqual(try server.request("POST", cnpPath, body: KubePolicySyncTests.cnp("web")), 201)
        XCTAssertEqual(try server.request("POST", cnpPath, body: KubePolicySyncTests.cnp("bad", path: "(")), 201)
        let agent = try startAgent()
        try poll("the valid CNP in force") { keys(agent) == ["web"] }
        XCTAssertEqual(ports(agent), [80])
        // The policy informers can be in force before the pods informer has listed (each watches on
        // its own): wait until every resource has listed once, then read the status whole.
        let resources = ["ciliumnetworkpolicies", "ciliumclusterwidenetworkpolicies", "networkpolicies", "pods"]
        try poll("every resource listed") {
            let lines = status(agent).split(separator: "\n")
            return resources.allSatisfy { resource in
                lines.contains { $0.hasPrefix("  \(resource):") && $0.hasSuffix("listed 1x") }
            }
        }
        let text = status(agent)
        XCTAssertTrue(
            text.contains("\nKubernetes:       Ok   \(server.url) (kubeconfig \(server.dir)/kubeconfig)\n"), text)
        for resource in resources {
            let line = text.split(separator: "\n").first { $0.hasPrefix("  \(resource):") }
            XCTAssertTrue(line?.contains("resourceVersion ") ?? false, text)
            XCTAssertTrue(line?.hasSuffix("listed 1x") ?? false, text)
        }
        XCTAssertTrue(
            text.contains(
                "  policies from the API: 1 in force, 1 with errors:\n    ciliumnetworkpolicies default/bad: k8s:CiliumNetworkPolicy/default/bad"
            ), text)
        // And as a Warning Event in the API, from this node, naming the field.
        let eventsPath = "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dbad"
        try poll("the event about bad") { (try? server.get(eventsPath))?.contains("PolicyInvalid") ?? false }
        let events = try JSONValue.parse(Array(try server.get(eventsPath).utf8))
        guard case .array(let items)? = events["items"], let event = items.first else {
            return XCTFail("no event: \(events)")
        }
        XCTAssertEqual(items.count, 1)
        XCTAssertEqual(event["type"]?.stringValue, "Warning")
        XCTAssertEqual(event["source"]?["host"]?.stringValue, "n1")
        XCTAssertEqual(event["involvedObject"]?["kind"]?.stringValue, "CiliumNetworkPolicy")
        XCTAssertTrue(event["message"]?.stringValue?.hasPrefix("spec.ingress[0]") ?? false, "\(event)")
        // The same in `sluice status` (the introspect answer).
        let introspection = try XCTUnwrap(agent.introspection().kubernetes)
        XCTAssertEqual(introspection.errors.map(\.name), ["bad"])
        XCTAssertEqual(introspection.errors.first?.namespace, "default")
        XCTAssertEqual(
            introspection.resources.map(\.name),
            ["ciliumnetworkpolicies", "ciliumclusterwidenetworkpolicies", "networkpolicies", "namespaces", "pods"])

        // Modified through the API.
        let patch =
            #"{"spec":{"ingress":[{"toPorts":[{"ports":[{"port":"81","protocol":"TCP"}],"rules":{"http":[{"path":"/b"}]}}]}]}}"#
        XCTAssertEqual(
            try server.request("PATCH", cnpPath + "/web", body: patch, contentType: "application/merge-patch+json"), 200
        )
        try poll("the modified CNP") { ports(agent) == [81] }

        // `sluice apply` of the API's object is refused; of another object it works beside it.
        let owned = agent.handle(
            ControlRequest(op: .apply, file: "web.json", documents: [try Self.document(KubePolicySyncTests.cnp("web"))])
        )
        XCTAssertFalse(owned.ok)
        XCTAssertTrue(
            owned.message.hasSuffix(
                #"ciliumnetworkpolicy.cilium.io "default/web" is set by the Kubernetes API; change it there (kubectl)"#),
            owned.message)
        let local = agent.handle(
            ControlRequest(
                op: .apply, file: "local.json",
                documents: [try Self.document(KubePolicySyncTests.cnp("local", port: 9000))]))
        XCTAssertTrue(local.ok, local.message)
        XCTAssertEqual(keys(agent), ["local", "web"])

        // Fixing the bad one and deleting web through the API.
        XCTAssertEqual(
            try server.request(
                "PATCH", cnpPath + "/bad",
                body:
                    #"{"spec":{"ingress":[{"toPorts":[{"ports":[{"port":"82","protocol":"TCP"}],"rules":{"http":[{"path":"/ok"}]}}]}]}}"#,
                contentType: "application/merge-patch+json"), 200)
        XCTAssertEqual(try server.request("DELETE", cnpPath + "/web"), 200)
        try poll("the fix and the delete") { keys(agent) == ["bad", "local"] }
        XCTAssertTrue(status(agent).contains("  policies from the API: 1 in force, no errors"), status(agent))
    }

    func testARelistAndAnOutageLeaveThePolicyInForce() throws {
        XCTAssertEqual(try server.request("POST", cnpPath, body: KubePolicySyncTests.cnp("a")), 201)
        XCTAssertEqual(try server.request("POST", cnpPath, body: KubePolicySyncTests.cnp("b", port: 8080)), 201)
        let agent = try startAgent()
        try poll("both in force, all listed and reconciled") {
            keys(agent) == ["a", "b"] && agent.kube!.status().synced && agent.kube!.isIdle
        }
        let commits = agent.kubeSync.commits

        // Every watch ends with 410: each informer relists; no moment without a, b.
        try server.controlAction("expire")
        try poll("the relists") {
            XCTAssertEqual(keys(agent), ["a", "b"])
            return !status(agent).contains("listed 1x")
        }
        XCTAssertEqual(agent.kubeSync.commits, commits, "an unchanged relist installs nothing")

        // The server goes away: the informers fail and back off, the policy stays.
        let snapshot = agent.policy.snapshot
        try server.controlAction("stop")
        try poll("the informers notice") { !status(agent).contains("  last error: none") }
        XCTAssertTrue(agent.policy.snapshot === snapshot, "the policy in force is the same snapshot")
        XCTAssertEqual(keys(agent), ["a", "b"])

        // Back: the watch resumes and a change made now arrives.
        try server.controlAction("start")
        XCTAssertEqual(try server.request("DELETE", cnpPath + "/b"), 200)
        try poll("the delete after the outage", deadline: 20) { keys(agent) == ["a"] }
    }

    func testPodsOfAnotherNodeAreInTheIPCacheWithTheirIdentity() throws {
        // (`default` exists, as on a real server.)
        let pod =
            #"{"metadata":{"name":"client-n2","namespace":"default","labels":{"app":"client"}},"spec":{"nodeName":"n2","containers":[{"name":"c","image":"x"}]}}"#
        XCTAssertEqual(try server.request("POST", "/api/v1/namespaces/default/pods", body: pod), 201)
        XCTAssertEqual(
            try server.request(
                "PATCH", "/api/v1/namespaces/default/pods/client-n2/status",
                body: #"{"status":{"podIP":"10.1.0.5","phase":"Running"}}"#, contentType: "application/merge-patch+json"
            ),
            200)
        XCTAssertEqual(try server.request("POST", cnpPath, body: KubePolicySyncTests.cnp("a")), 201)
        let agent = try startAgent()
        let remoteIP = UInt32(bigEndian: 0x0A01_0005)
        var identity: UInt32?
        try poll("the remote pod in the ipcache") {
            agent.lock.lock()
            defer { agent.lock.unlock() }
            identity = agent.policy.snapshot.ipcacheEntries().first { $0.ipv4 == remoteIP }?.identity
            return identity != nil
        }
        agent.lock.lock()
        let snapshot = agent.policy.snapshot
        agent.lock.unlock()
        XCTAssertTrue(
            snapshot.identityLabels(identity!).contains("k8s:app=client"), "\(snapshot.identityLabels(identity!))")
        // Ingress to app=backend from app=client names that identity.
        XCTAssertTrue(snapshot.policyMapEntries.contains { $0.key.identity == identity! && $0.key.port == 80 })

        // The pod goes: so does its address.
        XCTAssertEqual(try server.request("DELETE", "/api/v1/namespaces/default/pods/client-n2"), 200)
        try poll("the remote pod gone") {
            agent.lock.lock()
            defer { agent.lock.unlock() }
            return agent.policy.snapshot.ipcacheEntries().first { $0.ipv4 == remoteIP } == nil
        }
    }

    static func document(_ json: String) throws -> PolicyNode {
        PolicyObjects.document(try JSONValue.parse(Array(json.utf8)))
    }
}

extension AgentKubernetesTests {
    /// An agent restarted while the API server is away enforces what the API said last
    /// (`STATE/kubernetes.json`), remote pods included, until the API answers again.
    func testARestartWhileTheAPIIsAwayKeepsTheAPIsLastState() throws {
        XCTAssertEqual(try server.request("POST", cnpPath, body: KubePolicySyncTests.cnp("a")), 201)
        let pod =
            #"{"metadata":{"name":"client-n2","namespace":"default","labels":{"app":"client"}},"spec":{"nodeName":"n2","containers":[{"name":"c","image":"x"}]}}"#
        XCTAssertEqual(try server.request("POST", "/api/v1/namespaces/default/pods", body: pod), 201)
        XCTAssertEqual(
            try server.request(
                "PATCH", "/api/v1/namespaces/default/pods/client-n2/status", body: #"{"status":{"podIP":"10.1.0.5"}}"#,
                contentType: "application/merge-patch+json"), 200)
        let first = try startAgent()
        let remoteIP = UInt32(bigEndian: 0x0A01_0005)
        try poll("the first agent in sync") {
            first.lock.lock()
            defer { first.lock.unlock() }
            return first.policy.repository.keys.map(\.name) == ["a"]
                && first.policy.snapshot.ipcacheEntries().contains { $0.ipv4 == remoteIP }
        }
        let before = first.policy.snapshot.canonicalL3L4Dump()
        first.stopKubernetes()
        try server.controlAction("stop")

        // The restart: the cache is read before anything is installed.
        var options = first.options
        options.kubernetes = .kubeconfig(server.dir + "/kubeconfig")
        let second = Agent(options: options)
        second.policy.endpoints = TestPolicy.endpoints
        second.fileEndpoints = TestPolicy.endpoints
        try second.policy.loadIdentities()  // as `run` does first
        second.restoreKubernetesCache()
        XCTAssertEqual(keys(second), ["a"])
        XCTAssertEqual(second.policy.snapshot.canonicalL3L4Dump(), before, "the same policy and ipcache")
        try second.startKubernetes(backoff: Backoff(initial: 0.05, maximum: 0.4))
        agent = second
        XCTAssertTrue(status(second).contains("  at start: restored 1 policies from "), status(second))

        // The API back, with a change made while the agent was away.
        try server.controlAction("start")
        XCTAssertEqual(try server.request("DELETE", cnpPath + "/a"), 200)
        try poll("the API's state replaces the cache", deadline: 20) { keys(second) == [] }
    }
}
