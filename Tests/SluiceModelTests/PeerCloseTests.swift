import XCTest

@testable import SluiceModel

final class PeerCloseTests: XCTestCase {
    func testSidesAreTheRecordsErrorSideBytes() {
        XCTAssertEqual(PeerSide.downstream.rawValue, 1)
        XCTAssertEqual(PeerSide.upstream.rawValue, 2)
        XCTAssertNil(PeerSide(rawValue: 0), "0 is no error in the record")
    }

    func testOnlyAnEOFIsOrderly() {
        XCTAssertTrue(PeerClose(side: .downstream, errno: 0).isOrderly)
        XCTAssertFalse(PeerClose(side: .downstream, errno: 104).isOrderly)
    }

    func testTextNamesTheSideAndTheErrno() {
        XCTAssertEqual(PeerClose(side: .upstream, errno: 104).text, "upstream ECONNRESET")
        XCTAssertEqual(PeerClose(side: .downstream, errno: 0).text, "downstream EOF")
        XCTAssertEqual(PeerClose(side: .upstream, errno: 110).text, "upstream ETIMEDOUT")
        XCTAssertEqual(PeerClose(side: .upstream, errno: 5).text, "upstream errno 5")
        XCTAssertEqual(
            PeerClose(side: .downstream, errno: 129).text, "downstream EKEYREJECTED (TLS certificate not verified)")
    }
}
