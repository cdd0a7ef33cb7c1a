import SluiceModel
import XCTest

final class HeaderMismatchActionTests: XCTestCase {
    func testBitsAreTheRecordsHeaderActionBits() {
        // SLUICE_HEADER_ACTION_* of bpf/include/sluice_flow.h: the ring's format, read by the
        // observer and by `sluice observe` of older and newer builds alike.
        XCTAssertEqual(HeaderMismatchAction.log.bit, 0x01)
        XCTAssertEqual(HeaderMismatchAction.add.bit, 0x02)
        XCTAssertEqual(HeaderMismatchAction.delete.bit, 0x04)
        XCTAssertEqual(HeaderMismatchAction.replace.bit, 0x08)
        let bits = HeaderMismatchAction.allCases.map(\.bit)
        XCTAssertEqual(bits.reduce(0, |), 0x0F, "one bit each, none shared")
    }

    func testNamesAreThePolicysMismatchWords() {
        XCTAssertEqual(HeaderMismatchAction.allCases.map(\.name), ["LOG", "ADD", "DELETE", "REPLACE"])
        for action in HeaderMismatchAction.allCases {
            XCTAssertEqual(HeaderMismatchAction(rawValue: action.name), action)
        }
        // Cilium's YAML spells them in capitals only.
        XCTAssertNil(HeaderMismatchAction(rawValue: "log"))
        XCTAssertNil(HeaderMismatchAction(rawValue: "FAIL"))
    }
}
