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
}
