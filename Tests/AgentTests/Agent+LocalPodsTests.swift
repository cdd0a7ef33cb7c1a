import Foundation
import KubeClient
import Policy
import SluiceAPI
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Agent

/// The agent with `--endpoints-from=kubernetes` fed by the fake API server (the control path,
/// no datapath; the route lookup is the test's): this node's pods become endpoints with their
/// interface and the policy selects them; a pod whose route comes late is retried without a new
/// event; a forced relist keeps every endpoint as it is; a deleted pod stops being an endpoint.
final class AgentLocalPodsTests: XCTestCase {
    private var server: FakeAPIServer!
    private var stateDirectory = ""
    private var agent: Agent?
    private let podsPath = "/api/v1/namespaces/default/pods"
    private let cnpPath = "/apis/cilium.io/v2/namespaces/default/ciliumnetworkpolicies"
    /// The routes the lookup sees: address (network order) to ifindex.
    private let routes = Routes()

    private final class Routes: @unchecked Sendable {
        private let lock = NSLock()
        private var table: [UInt32: Int32] = [:]
        private(set) var lookups = 0

        subscript(address: String) -> Int32? {
            get { lock.withLock { table[IPv4Address(address)!.networkOrder] } }
            set { lock.withLock { table[IPv4Address(address)!.networkOrder] = newValue } }
        }

        func lookup(_ ipv4: UInt32) -> PodRoute.Answer {
            lock.withLock {
                lookups += 1
                return table[ipv4].map { .podRoute(ifindex: $0) } ?? .notPodRoute("no route")
            }
        }
    }

    /// The node's interface addresses the agent reads (network order).
    private let interfaces = Interfaces()

    private final class Interfaces: @unchecked Sendable {
        private let lock = NSLock()
        private var table: [UInt32] = []

        var addresses: [String] {
            get { lock.withLock { table.map { IPv4Address(networkOrder: $0).description } } }
            set { lock.withLock { table = newValue.map { IPv4Address($0)!.networkOrder } } }
        }

        func lookup() -> Result<[UInt32], NodeAddresses.ParseError> { lock.withLock { .success(table) } }
    }

    override func setUpWithError() throws {
        server = try FakeAPIServer(["--load", FakeAPIServer.root + "/deploy/cilium-crds/policies.yaml"])
        stateDirectory = try NodePolicyTests.temporaryDirectory()
    }

    override func tearDown() {
        agent?.stopKubernetes()
        server?.close()
        NodePolicyTests.removeTree(stateDirectory)
    }

    private func startAgent() throws -> Agent {
        guard
            case .run(var options) = try AgentCommandLine.parse([
                "--k8s-kubeconfig", server.dir + "/kubeconfig", "--node-name", "n1", "--state-dir", stateDirectory,
            ])
        else { throw KubeTestError("no options") }
        XCTAssertEqual(options.endpointsFrom, .kubernetes)
        XCTAssertEqual(options.endpointsFile, "")
        options.stateDirectory = stateDirectory
        let agent = Agent(options: options)
        try agent.loadEndpoints()
        agent.podRouteLookup = { [routes] in routes.lookup($0) }
        agent.interfaceAddressLookup = { [interfaces] in interfaces.lookup() }
        try agent.startKubernetes(backoff: Backoff(initial: 0.05, maximum: 0.4))
        self.agent = agent
        return agent
    }

    private func addPod(_ name: String, node: String, ip: String, labels: String, hostIP: String = "") throws {
        let pod =
            #"{"metadata":{"name":"\#(name)","namespace":"default","labels":\#(labels)},"spec":{"nodeName":"\#(node)","containers":[{"name":"c","image":"x","ports":[{"name":"http","containerPort":80}]}]}}"#
        XCTAssertEqual(try server.request("POST", podsPath, body: pod), 201)
        let host = hostIP.isEmpty ? "" : #","hostIP":"\#(hostIP)""#
        XCTAssertEqual(
            try server.request(
                "PATCH", podsPath + "/\(name)/status",
                body: #"{"status":{"podIP":"\#(ip)","phase":"Running"\#(host)}}"#,
                contentType: "application/merge-patch+json"),
            200)
    }

    /// The endpoints in force: `pod@ifindex` by ID.
    private func endpoints(_ agent: Agent) -> [String] {
        agent.lock.lock()
        defer { agent.lock.unlock() }
        return agent.policy.endpoints.map { "\($0.id):\($0.podName)@\(agent.ifindexes[$0.id] ?? 0)" }
    }

    func testLocalPodsFromTheAPIAreEndpointsOnTheirRoutesInterface() throws {
        routes["10.1.0.5"] = 11
        try addPod("backend", node: "n1", ip: "10.1.0.5", labels: #"{"app":"backend"}"#)
        try addPod("remote", node: "n2", ip: "10.2.0.5", labels: #"{"app":"client"}"#)
        XCTAssertEqual(try server.request("POST", cnpPath, body: KubePolicySyncTests.cnp("a")), 201)
        let agent = try startAgent()
        try poll("the local pod an endpoint") { endpoints(agent) == ["1:backend@11"] }
        agent.lock.lock()
        let snapshot = agent.policy.snapshot
        let local = agent.policy.endpoints[0]
        let remoteInIPCache = snapshot.ipcacheEntries().contains { $0.ipv4 == IPv4Address("10.2.0.5")!.networkOrder }
        agent.lock.unlock()
        XCTAssertEqual(local.namedPorts, ["http": 80])
        XCTAssertEqual(local.namespaceLabels["kubernetes.io/metadata.name"], "default", "\(local.namespaceLabels)")
        XCTAssertTrue(remoteInIPCache, "the other node's pod is in the ipcache")
        XCTAssertTrue(
            snapshot.policyEnforcement.contains { $0.endpointID == 1 && $0.direction == .ingress && $0.defaultDeny },
            "the CNP selects the local pod: \(snapshot.policyEnforcement)")
        XCTAssertEqual(snapshot.l7Ports.map(\.port), [80])

        // A pod whose route the CNI adds after its address is in the API: retried, no new event.
        try addPod("late", node: "n1", ip: "10.1.0.6", labels: #"{"app":"late"}"#)
        try poll("the late pod looked up") { routes.lookups >= 3 }
        XCTAssertEqual(endpoints(agent), ["1:backend@11"])
        routes["10.1.0.6"] = 12
        try poll("the late pod an endpoint once its route is there") {
            endpoints(agent) == ["1:backend@11", "2:late@12"]
        }

        // A relist (410) hands over the same pods: nothing changes.
        let lookups = routes.lookups
        try server.controlAction("expire")
        try poll("the relist") {
            (agent.kube?.status().resources.first { $0.name == "pods" }?.lists ?? 0) >= 2
        }
        try poll("the reconcile after it") { agent.kube?.isIdle ?? false }
        XCTAssertEqual(endpoints(agent), ["1:backend@11", "2:late@12"])
        XCTAssertEqual(routes.lookups, lookups, "no pod was looked up again")

        // Deleted from the API: no longer an endpoint, nor in `sluice endpoint list`.
        XCTAssertEqual(try server.request("DELETE", podsPath + "/backend"), 200)
        try poll("the deleted pod gone") { endpoints(agent) == ["2:late@12"] }
        agent.lock.lock()
        let rows = agent.introspection().endpoints.map(\.endpoint.pod)
        agent.lock.unlock()
        XCTAssertEqual(rows, ["late"])
    }

    /// The node's own addresses (no endpoints file): its interfaces' and its pods' `hostIP` are
    /// host (1) in the ipcache the install writes, a pod's own address keeps its pod identity,
    /// and a new interface address is host after the next reconcile. `sluice status` shows them.
    func testTheNodesAddressesAreHost() throws {
        interfaces.addresses = ["10.9.0.1"]
        routes["10.1.0.5"] = 11
        try addPod("backend", node: "n1", ip: "10.1.0.5", labels: #"{"app":"backend"}"#, hostIP: "192.168.5.2")
        try addPod("remote", node: "n2", ip: "10.2.0.5", labels: #"{"app":"client"}"#, hostIP: "192.168.5.3")
        XCTAssertEqual(try server.request("POST", cnpPath, body: KubePolicySyncTests.cnp("a")), 201)
        let agent = try startAgent()
        try poll("the local pod an endpoint") { endpoints(agent) == ["1:backend@11"] }
        func ipcache() -> [String: UInt32] {
            agent.lock.lock()
            defer { agent.lock.unlock() }
            var out: [String: UInt32] = [:]
            for entry in agent.policy.snapshot.ipcacheEntries(hostIPv4: agent.policy.hostIPv4)
            where entry.prefixLength == 32 {
                out[IPv4Address(networkOrder: entry.ipv4).description] = entry.identity
            }
            return out
        }
        try poll("the node's addresses host") { ipcache()["192.168.5.2"] == 1 && ipcache()["10.9.0.1"] == 1 }
        let cache = ipcache()
        XCTAssertNil(cache["192.168.5.3"], "another node's address is not this node's: \(cache)")
        XCTAssertNotEqual(cache["10.1.0.5"], 1, "the local pod keeps its identity: \(cache)")
        XCTAssertNotNil(cache["10.1.0.5"])
        agent.lock.lock()
        let lines = agent.kubernetesStatus()
        agent.lock.unlock()
        XCTAssertTrue(lines.contains("  node addresses (host): 10.9.0.1, 192.168.5.2"), lines)

        // A new address on an interface: host once the agent reconciles again (here on an event).
        interfaces.addresses = ["10.9.0.1", "172.16.0.1"]
        try addPod("late", node: "n1", ip: "10.1.0.6", labels: #"{"app":"late"}"#, hostIP: "192.168.5.2")
        try poll("the new interface address host") { ipcache()["172.16.0.1"] == 1 }
        interfaces.addresses = []
        XCTAssertEqual(try server.request("DELETE", podsPath + "/late"), 200)
        try poll("the interface addresses gone, the pods' hostIP stays") {
            ipcache()["172.16.0.1"] == nil && ipcache()["10.9.0.1"] == nil && ipcache()["192.168.5.2"] == 1
        }
    }

    /// Restarted while the API server is away: the cached local endpoints keep their IDs and get
    /// their interfaces by route again; the first list afterwards keeps them.
    func testARestartWhileTheAPIIsAwayKeepsTheLocalEndpoints() throws {
        routes["10.1.0.5"] = 11
        try addPod("backend", node: "n1", ip: "10.1.0.5", labels: #"{"app":"backend"}"#)
        XCTAssertEqual(try server.request("POST", cnpPath, body: KubePolicySyncTests.cnp("a")), 201)
        let first = try startAgent()
        try poll("the local pod an endpoint") { endpoints(first) == ["1:backend@11"] }
        first.stopKubernetes()
        agent = nil
        try server.controlAction("stop")

        routes["10.1.0.5"] = 21  // the same pod, its veth found again (another ifindex here)
        guard
            case .run(var options) = try AgentCommandLine.parse([
                "--k8s-kubeconfig", server.dir + "/kubeconfig", "--node-name", "n1",
            ])
        else { throw KubeTestError("no options") }
        options.stateDirectory = stateDirectory
        let second = Agent(options: options)
        second.podRouteLookup = { [routes] in routes.lookup($0) }
        try second.loadEndpoints()
        second.restoreKubernetesCache()
        second.restoreLocalPods()
        XCTAssertEqual(endpoints(second), ["1:backend@21"])
        XCTAssertTrue(second.policy.snapshot.policyEnforcement.contains { $0.endpointID == 1 && $0.defaultDeny })

        try server.controlAction("start")
        try second.startKubernetes(backoff: Backoff(initial: 0.05, maximum: 0.4))
        agent = second
        try poll("listed again") {
            (second.kube?.status().resources.first { $0.name == "pods" }?.lists ?? 0) >= 1 && second.kube!.isIdle
        }
        XCTAssertEqual(endpoints(second), ["1:backend@21"])
        try addPod("late", node: "n1", ip: "10.1.0.6", labels: #"{"app":"late"}"#)
        routes["10.1.0.6"] = 22
        try poll("a new pod takes the next ID") { endpoints(second) == ["1:backend@21", "2:late@22"] }
    }

    func testTheEndpointsSourceOption() throws {
        let kubeconfig = ["--k8s-kubeconfig", "/k"]
        func source(_ arguments: [String]) throws -> (EndpointsSource, String) {
            guard case .run(let options) = try AgentCommandLine.parse(arguments, environment: { _ in nil }) else {
                throw KubeTestError("no options")
            }
            return (options.endpointsFrom, options.endpointsFile)
        }
        XCTAssertTrue(try source([]) == (.file, AgentPaths.endpointsFile))
        XCTAssertTrue(try source(kubeconfig) == (.kubernetes, ""))
        XCTAssertTrue(try source(kubeconfig + ["--endpoints", "/e.json"]) == (.file, "/e.json"))
        XCTAssertTrue(
            try source(kubeconfig + ["--endpoints", "/e.json", "--endpoints-from=kubernetes"]) == (
                .kubernetes, "/e.json"
            ))
        XCTAssertTrue(try source(kubeconfig + ["--endpoints-from", "file"]) == (.file, AgentPaths.endpointsFile))
        XCTAssertThrowsError(try source(["--endpoints-from=kubernetes"])) {
            XCTAssertTrue("\($0)".hasPrefix("--endpoints-from=kubernetes needs the Kubernetes API"), "\($0)")
        }
        XCTAssertThrowsError(try source(kubeconfig + ["--endpoints-from=cni"])) {
            XCTAssertEqual("\($0)", "--endpoints-from must be file or kubernetes, not 'cni'")
        }
        guard case .help(let help) = try AgentCommandLine.parse(["--help"]) else { return XCTFail("no help") }
        XCTAssertTrue(help.contains("--endpoints-from <file|kubernetes>"), help)
    }
}
