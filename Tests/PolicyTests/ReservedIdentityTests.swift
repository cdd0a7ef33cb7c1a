import SluiceModel
import XCTest

@testable import Policy

/// `ReservedIdentity.entity`: Cilium's entity names (`toEntities`/`fromEntities`).
final class ReservedIdentityTests: XCTestCase {
    func testEntities() {
        XCTAssertEqual(ReservedIdentity.entity("all"), .everything)
        XCTAssertEqual(
            ReservedIdentity.entity("world"),
            .identities(
                [ReservedIdentity.world, ReservedIdentity.worldIPv4, ReservedIdentity.worldIPv6], endpoints: false))
        XCTAssertEqual(
            ReservedIdentity.entity("world-ipv6"), .identities([ReservedIdentity.worldIPv6], endpoints: false))
        XCTAssertEqual(ReservedIdentity.entity("host"), .identities([ReservedIdentity.host], endpoints: false))
        XCTAssertEqual(ReservedIdentity.entity("init"), .identities([ReservedIdentity.initializing], endpoints: false))
        XCTAssertEqual(ReservedIdentity.entity("none"), .identities([], endpoints: false))
        XCTAssertNil(ReservedIdentity.entity("World"))
        XCTAssertNil(ReservedIdentity.entity("nodes"))
    }

    func testClusterIsTheReservedClusterIdentitiesPlusEveryPod() {
        guard case .identities(let ids, let endpoints)? = ReservedIdentity.entity("cluster") else {
            return XCTFail("cluster is not a set of identities")
        }
        XCTAssertTrue(endpoints)
        XCTAssertEqual(
            Set(ids),
            [
                ReservedIdentity.host, ReservedIdentity.remoteNode, ReservedIdentity.initializing,
                ReservedIdentity.ingress, ReservedIdentity.health, ReservedIdentity.unmanaged,
                ReservedIdentity.kubeAPIServer,
            ])
        XCTAssertFalse(ids.contains(ReservedIdentity.world))
    }
}
