import SluiceModel
import XCTest

@testable import Sandbox

final class SandboxPlanTests: XCTestCase {
    private let topology = Topology(
        namespaces: [NamespaceSpec(name: "frontend", labels: ["name": "frontend"]), NamespaceSpec(name: "backend")],
        pods: [
            PodSpec(name: "frontend", namespace: "frontend", labels: ["app": "frontend"]),
            PodSpec(name: "backend", namespace: "backend", servers: [ServerSpec(kind: .httpbin, port: 80)]),
            PodSpec(name: "client"),
        ])

    func testAddressesFollowFileOrderWithKubeDNSFirst() throws {
        let plan = try SandboxPlan(topology: topology)
        XCTAssertEqual(
            plan.endpoints.map(\.endpoint.ipv4), ["10.244.1.10", "10.244.1.11", "10.244.1.12", "10.244.1.13"])
        XCTAssertEqual(plan.endpoints.map(\.endpoint.id), [1, 2, 3, 4])
        XCTAssertEqual(
            plan.endpoints.map { "\($0.endpoint.namespace)/\($0.endpoint.pod)" },
            ["kube-system/kube-dns", "frontend/frontend", "backend/backend", "default/client"])
        XCTAssertEqual(plan.dnsAddress.description, "10.244.1.10")
        XCTAssertEqual(plan.endpoints[2].servers, [ServerSpec(kind: .httpbin, port: 80)])
    }

    func testPlanIsDeterministic() throws {
        XCTAssertEqual(try SandboxPlan(topology: topology), try SandboxPlan(topology: topology))
    }

    func testAddressRangeWrapsToNextSubnet() {
        XCTAssertEqual(SandboxPlan.podAddress(index: 0)?.description, "10.244.1.10")
        XCTAssertEqual(SandboxPlan.podAddress(index: 244)?.description, "10.244.1.254")
        XCTAssertEqual(SandboxPlan.podAddress(index: 245)?.description, "10.244.2.10")
        XCTAssertEqual(SandboxPlan.podAddress(index: 255 * 245 - 1)?.description, "10.244.255.254")
        XCTAssertNil(SandboxPlan.podAddress(index: 255 * 245))
        XCTAssertNil(SandboxPlan.podAddress(index: -1))
    }

    func testLabelsAndNamespaces() throws {
        let plan = try SandboxPlan(topology: topology)
        XCTAssertEqual(plan.namespaces.map(\.name), ["frontend", "backend", "default", "kube-system"])
        let frontend = plan.endpoints[1].endpoint
        XCTAssertEqual(frontend.namespaceLabels, ["name": "frontend", "kubernetes.io/metadata.name": "frontend"])
        XCTAssertEqual(frontend.podLabels, ["app": "frontend"])
        let dns = plan.endpoints[0].endpoint
        XCTAssertEqual(dns.podLabels, ["k8s-app": "kube-dns"])
        XCTAssertEqual(dns.namespaceLabels, ["kubernetes.io/metadata.name": "kube-system"])
        XCTAssertEqual(dns.namedPorts.map(\.protocol), ["UDP", "TCP"])
    }

    func testInterfaceNamesAreUniqueAndShort() throws {
        let pods = (0..<300).map { PodSpec(name: "p\($0)") }
        let plan = try SandboxPlan(topology: Topology(pods: pods))
        let names = plan.endpoints.map(\.endpoint.hostIfName)
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertTrue(names.allSatisfy { $0.utf8.count <= SandboxNames.maxInterfaceNameLength })
        XCTAssertEqual(plan.endpoints[246].endpoint.ipv4, "10.244.2.11")
    }

    func testCollidingNetnsNamesGetHashes() throws {
        let plan = try SandboxPlan(
            topology: Topology(
                namespaces: [NamespaceSpec(name: "a-b"), NamespaceSpec(name: "a")],
                pods: [PodSpec(name: "c", namespace: "a-b"), PodSpec(name: "b-c", namespace: "a")]))
        let names = plan.endpoints.map(\.endpoint.netns)
        XCTAssertEqual(Set(names).count, names.count)
        XCTAssertNotEqual(names[1], "sluice-a-b-c")
    }

    func testInitialState() throws {
        let world = WorldSpec(name: "api.example.com", addresses: [IPv4Address(192, 0, 2, 1)], ttl: 60)
        var withWorld = topology
        withWorld.world = [world]
        let state = try SandboxPlan(topology: withWorld).initialState()
        XCTAssertEqual(state.nodeNetns, "sluice-node")
        XCTAssertEqual(state.nodeIP, "10.244.0.1")
        XCTAssertEqual(state.dnsIP, "10.244.1.10")
        XCTAssertEqual(state.worldNetns, "sluice-world")
        XCTAssertEqual(state.world, [.init(name: "api.example.com", addresses: ["192.0.2.1"], ttl: 60)])
        XCTAssertEqual(state.servers, [])
        XCTAssertNil(state.agentPID)
        XCTAssertNil(try SandboxPlan(topology: topology).initialState().worldNetns)
    }

    // MARK: - Nodes (issue 18)

    func testTwoNodesGetTheirOwnAddressesAndPodNetworks() throws {
        let topology = try Topology.parse(
            yaml: """
                nodes: [{name: n1}, {name: n2}]
                pods: [{name: a}, {name: b, node: n2}, {name: c, node: n1}, {name: d, node: n2}]
                """)
        let plan = try SandboxPlan(topology: topology)
        XCTAssertEqual(plan.nodes.map(\.netns), ["sluice-node", "sluice-node_n2"])
        XCTAssertEqual(plan.nodes.map(\.address.description), ["10.244.0.1", "10.244.0.2"])
        XCTAssertEqual(plan.nodes.map(\.podCIDR), ["10.244.1.0/24", "10.244.2.0/24"])
        let endpoints = plan.endpoints.map(\.endpoint)
        XCTAssertEqual(endpoints.map(\.pod), ["kube-dns", "a", "b", "c", "d"])
        XCTAssertEqual(endpoints.map(\.node), ["n1", "n1", "n2", "n1", "n2"])
        XCTAssertEqual(
            endpoints.map(\.ipv4), ["10.244.1.10", "10.244.1.11", "10.244.2.10", "10.244.1.12", "10.244.2.11"])
        XCTAssertEqual(endpoints.map(\.id), [1, 2, 3, 4, 5])
        XCTAssertEqual(plan.world.last?.addresses, [SandboxPlan.kubeAPIAddress])
        XCTAssertEqual(plan.world.last?.kubeAPIServer, true)
    }

    func testTwoNodeStateAndEachAgentsView() throws {
        let topology = try Topology.parse(
            yaml: "nodes: [{name: n1}, {name: n2}]\npods: [{name: a}, {name: b, node: n2}]\n")
        let state = try SandboxPlan(topology: topology).initialState(stateDirectory: "/s")
        XCTAssertEqual(state.nodeNetns, "sluice-node")
        XCTAssertEqual(state.nodeIP, "10.244.0.1")
        let nodes = try XCTUnwrap(state.nodes)
        XCTAssertEqual(nodes.map(\.endpointsFile), ["/s/nodes/n1.json", "/s/nodes/n2.json"])
        XCTAssertEqual(nodes.map(\.pinDirectory), ["/sys/fs/bpf/sluice", "/sys/fs/bpf/sluice-n2"])
        XCTAssertEqual(nodes.map(\.controlSocket), ["/run/sluice/agent.sock", "/run/sluice/nodes/n2/agent.sock"])
        let view = state.endpointsView(of: nodes[1])
        XCTAssertEqual(view.nodeNetns, "sluice-node_n2")
        XCTAssertEqual(view.nodeIP, "10.244.0.2")
        XCTAssertEqual(view.endpoints.map(\.pod), ["b"])
        XCTAssertNil(view.nodes)
        XCTAssertEqual(state.endpointsView(of: nodes[0]).endpoints.map(\.pod), ["kube-dns", "a"])
        XCTAssertEqual(state.worldNetns, SandboxNames.worldNetns)
    }

    func testWithoutNodesThePlanIsTheSingleNode() throws {
        let plan = try SandboxPlan(topology: Topology.parse(yaml: "pods: [{name: a}]\n"))
        XCTAssertTrue(plan.nodes.isEmpty)
        XCTAssertNil(plan.initialState().nodes)
        XCTAssertEqual(plan.endpoints.map(\.endpoint.node), [nil, nil])
        XCTAssertTrue(plan.world.isEmpty)
    }

    func testANodeHoldsAtMost245Pods() throws {
        let pods = (0..<SandboxPlan.podsPerNode).map { PodSpec(name: "p\($0)", node: "n2") }
        let topology = Topology(pods: pods, nodes: [NodeSpec(name: "n1"), NodeSpec(name: "n2")])
        XCTAssertEqual(try SandboxPlan(topology: topology).endpoints.last?.endpoint.ipv4, "10.244.2.254")
        var more = topology
        more.pods.append(PodSpec(name: "extra", node: "n2"))
        XCTAssertThrowsError(try SandboxPlan(topology: more))
    }
}
