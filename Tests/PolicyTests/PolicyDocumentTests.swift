import PolicyYAML
import SluiceModel
import XCTest

@testable import Policy

/// `PolicyKey.ref`: the number L7 flow records name a policy with.
final class PolicyDocumentTests: XCTestCase {
    func testRefIsFNV1aOfKindNamespaceAndName() {
        // FNV-1a 32 of "CiliumNetworkPolicy/backend/backend-http-rules", computed independently.
        XCTAssertEqual(
            PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "backend-http-rules").ref,
            0x56E5_F879)
    }

    func testRefsDifferByKindNamespaceAndName() {
        let keys = [
            PolicyKey(kind: .ciliumNetworkPolicy, namespace: "a", name: "p"),
            PolicyKey(kind: .networkPolicy, namespace: "a", name: "p"),
            PolicyKey(kind: .ciliumNetworkPolicy, namespace: "b", name: "p"),
            PolicyKey(kind: .ciliumNetworkPolicy, namespace: "a", name: "q"),
            PolicyKey(kind: .ciliumClusterwideNetworkPolicy, namespace: "", name: "p"),
            // The separator keeps "a/b" + "c" apart from "a" + "b/c".
            PolicyKey(kind: .ciliumNetworkPolicy, namespace: "ab", name: "c"),
            PolicyKey(kind: .ciliumNetworkPolicy, namespace: "a", name: "bc"),
        ]
        XCTAssertEqual(Set(keys.map(\.ref)).count, keys.count)
        XCTAssertFalse(keys.contains { $0.ref == 0 })
    }

    func testVerdictsAndTheSnapshotNameTheSameNumbers() throws {
        let repository = PolicyRepository()
        try repository.apply(yamlText: try Fixtures.example("tutorial/backend-http-rules.yaml"), fileName: "p.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: Fixtures.tutorialEndpoints, allocator: &allocator)
        let key = PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "backend-http-rules")
        XCTAssertEqual(snapshot.policies, [key])
        let policy = try XCTUnwrap(snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        let frontend = try XCTUnwrap(snapshot.identity(ofEndpoint: 1))
        XCTAssertEqual(policy.decide(peerIdentity: frontend, request: TestRequest("GET", "/get")).policyRef, key.ref)
        XCTAssertEqual(policy.decide(peerIdentity: frontend, request: TestRequest("POST", "/get")).policyRef, key.ref)
        XCTAssertEqual(
            policy.decide(peerIdentity: ReservedIdentity.world, request: TestRequest("GET", "/get")).policyRef, 0)
    }
}
