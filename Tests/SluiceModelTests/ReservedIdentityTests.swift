import SluiceModel
import XCTest

final class ReservedIdentityTests: XCTestCase {
    func testNumbersAndNames() {
        // Cilium pkg/identity/numericidentity.go.
        let expected: [(UInt32, String)] = [
            (1, "host"), (2, "world"), (3, "unmanaged"), (4, "health"), (5, "init"),
            (6, "remote-node"), (7, "kube-apiserver"), (8, "ingress"),
            (9, "world-ipv4"), (10, "world-ipv6"),
        ]
        XCTAssertEqual(ReservedIdentity.all.map(\.id), expected.map(\.0))
        XCTAssertEqual(ReservedIdentity.all.map(\.name), expected.map(\.1))
        XCTAssertEqual(ReservedIdentity.host, 1)
        XCTAssertEqual(ReservedIdentity.world, 2)
        XCTAssertEqual(ReservedIdentity.firstAllocated, 256)
        XCTAssertEqual(ReservedIdentity.name(of: 7), "kube-apiserver")
        XCTAssertNil(ReservedIdentity.name(of: 11))
        XCTAssertEqual(ReservedIdentity.id(named: "remote-node"), 6)
        XCTAssertNil(ReservedIdentity.id(named: "cluster"))
        XCTAssertEqual(ReservedIdentity.labels(of: 2)?.map(\.description), ["reserved:world"])
        XCTAssertNil(ReservedIdentity.labels(of: 256))
    }
}
