import XCTest

@testable import Policy

final class IdentityAllocatorTests: XCTestCase {
    func testFirstSeenOrderFrom256AndRestore() {
        var allocator = IdentityAllocator()
        let endpoints = Fixtures.tutorialEndpoints
        XCTAssertEqual(endpoints.map { allocator.identity(of: $0) }, [256, 257, 258, 259])
        // Same label set (another replica) -> same identity; label order does not matter.
        var replica = endpoints[1]
        replica.id = 9
        replica.podName = "backend-other"
        replica.ipv4 = Fixtures.ip(9)
        XCTAssertEqual(allocator.identity(of: replica), 257)
        XCTAssertEqual(allocator.identity(forLabels: ["k8s:b=1", "k8s:a=1"]), 260)
        XCTAssertEqual(allocator.identity(forLabels: ["k8s:a=1", "k8s:b=1"]), 260)
        // Deterministic: the same sequence gives the same numbers; saved state is kept.
        var again = IdentityAllocator()
        XCTAssertEqual(endpoints.map { again.identity(of: $0) }, [256, 257, 258, 259])
        var restored = IdentityAllocator(state: allocator.state)
        XCTAssertEqual(restored.identity(of: endpoints[3]), 259)
        XCTAssertEqual(restored.identity(forLabels: ["k8s:new=1"]), 261)
    }

    /// A prefix keeps its identity while other prefixes come and go (the install order relies on
    /// an identity never naming another prefix), and CIDR identities do not move pod numbering.
    func testCIDRIdentitiesAreKeptAcrossPoliciesAndNeverReused() {
        var allocator = IdentityAllocator()
        XCTAssertEqual(allocator.identity(forLabels: ["k8s:app=a"]), 256)
        let first = allocator.cidrIdentities(prefixes: ["10.0.0.0/8", "192.0.2.0/24"])
        XCTAssertEqual(first, [CIDRIdentityTable.localScope + 1, CIDRIdentityTable.localScope + 2])
        let second = allocator.cidrIdentities(prefixes: ["10.0.0.0/8", "10.1.0.0/16"])
        XCTAssertEqual(second, [first[0], CIDRIdentityTable.localScope + 3])
        XCTAssertEqual(allocator.cidrIdentities(prefixes: ["192.0.2.0/24"]), [first[1]])
        XCTAssertEqual(allocator.identity(forLabels: ["k8s:app=b"]), 257)
        var restored = IdentityAllocator(state: allocator.state)
        XCTAssertEqual(
            restored.cidrIdentities(prefixes: ["10.1.0.0/16", "203.0.113.0/24"]),
            [CIDRIdentityTable.localScope + 3, CIDRIdentityTable.localScope + 4])
    }

    func testCompiledCIDRIdentitiesFollowTheAllocator() throws {
        let endpoints = Fixtures.tutorialEndpoints
        func policy(_ cidrs: [String]) -> String {
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: out, namespace: frontend}
            spec:
              endpointSelector: {matchLabels: {app: frontend}}
              egress:
              - toCIDR: [\(cidrs.joined(separator: ", "))]
            """
        }
        var allocator = IdentityAllocator()
        func compile(_ cidrs: [String]) throws -> PolicySnapshot {
            let repository = PolicyRepository()
            try repository.apply(yamlText: policy(cidrs), fileName: "p.yaml")
            return repository.compile(endpoints: endpoints, allocator: &allocator)
        }
        let first = try compile(["192.0.2.0/24"])
        let second = try compile(["10.0.0.0/8", "192.0.2.0/24"])
        XCTAssertEqual(
            second.ipcacheIdentity(192, 0, 2, 1), first.ipcacheIdentity(192, 0, 2, 1),
            "10.0.0.0/8 sorts first but does not take 192.0.2.0/24's identity")
        XCTAssertEqual(second.ipcacheIdentity(10, 9, 9, 9), CIDRIdentityTable.localScope + 2)
    }

    func testEndpointIdentityLabels() {
        let endpoint = Fixtures.endpoint(
            2, "backend", "backend-7f8b", ["app": "backend"], namespaceLabels: ["name": "backend"])
        XCTAssertEqual(
            endpoint.identityLabels.map(\.description),
            [
                "k8s:app=backend",
                "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=backend",
                "k8s:io.cilium.k8s.namespace.labels.name=backend",
                "k8s:io.cilium.k8s.policy.cluster=default",
                "k8s:io.cilium.k8s.policy.serviceaccount=default",
                "k8s:io.kubernetes.pod.namespace=backend",
            ])
    }
}
