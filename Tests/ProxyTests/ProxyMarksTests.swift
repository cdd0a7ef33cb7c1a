import Policy
import XCTest

@testable import Proxy

/// The SO_MARK of the proxy's upstream sockets, against the layout bpf/include/sluice_maps.h
/// documents: 0x0B00, identity bits 0-7 in bits 0-7, identity bits 8-24 in bits 12-28.
final class ProxyMarksTests: XCTestCase {
    func testIdentityIsSplitAroundTheMagic() {
        XCTAssertEqual(ProxyMarks.fromProxy(identity: 0), 0x0000_0B00)
        XCTAssertEqual(ProxyMarks.fromProxy(identity: 0x45), 0x0000_0B45)
        XCTAssertEqual(ProxyMarks.fromProxy(identity: 0x1_2345), 0x0012_3B45)
        XCTAssertEqual(ProxyMarks.fromProxy(identity: 256), 0x0000_1B00)
    }

    func testIdentitiesAboveTheMaximumAreCut() {
        XCTAssertEqual(ProxyMarks.fromProxy(identity: 0x01FF_FFFF), 0x1FFF_FBFF)
        XCTAssertEqual(ProxyMarks.fromProxy(identity: 0xFFFF_FFFF), 0x1FFF_FBFF)
        XCTAssertEqual(ProxyMarks.fromProxy(identity: 0x0200_0001), ProxyMarks.fromProxy(identity: 1))
    }

    func testTheUpstreamMarkIsTheSteeredClientsIdentityOrZero() {
        let steer = SteerInfo(endpointID: 3, sourceIdentity: 0x1_2345, destinationIdentity: 5, direction: .ingress)
        XCTAssertEqual(ProxyMarks.upstream(for: steer), 0x0012_3B45)
        XCTAssertEqual(ProxyMarks.upstream(for: nil), 0x0000_0B00)
    }
}
