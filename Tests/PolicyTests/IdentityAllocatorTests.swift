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

    func testEndpointIdentityLabels() {
        let endpoint = Fixtures.endpoint(2, "backend", "backend-7f8b", ["app": "backend"], namespaceLabels: ["name": "backend"])
        XCTAssertEqual(endpoint.identityLabels.map(\.description), [
            "k8s:app=backend",
            "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=backend",
            "k8s:io.cilium.k8s.namespace.labels.name=backend",
            "k8s:io.cilium.k8s.policy.cluster=default",
            "k8s:io.cilium.k8s.policy.serviceaccount=default",
            "k8s:io.kubernetes.pod.namespace=backend",
        ])
    }
}
