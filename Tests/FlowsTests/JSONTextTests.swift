import XCTest

@testable import Flows

final class JSONTextTests: XCTestCase {
    func testMembersInOrderAndZeroValuesLeftOut() {
        var json = JSONText()
        json.string("a", "x")
        json.string("empty", "")
        json.number("n", 7)
        json.number("zero", 0)
        json.int64("big", UInt64(1) << 40)
        json.int64("zero64", 0)
        json.flag("yes", true)
        json.flag("no", false)
        json.strings("list", ["p", "q"])
        json.strings("none", [])
        json.array("objects", [#"{"k":1}"#, "{}"])
        json.array("noObjects", [])
        json.object("nested") { inner in inner.number("m", -1) }
        json.object("emptyObject") { _ in }
        json.raw("raw", "null")
        XCTAssertEqual(
            json.finished,
            #"{"a":"x","n":7,"big":"1099511627776","yes":true,"list":["p","q"],"objects":[{"k":1},{}],"nested":{"m":-1},"emptyObject":{},"raw":null}"#
        )
        XCTAssertEqual(JSONText().finished, "{}")
    }

    func testQuotingEscapesWhatRFC8259Requires() {
        XCTAssertEqual(JSONText.quoted(#"a"b\c"#), #""a\"b\\c""#)
        XCTAssertEqual(JSONText.quoted("\n\r\t\u{08}\u{0C}"), #""\n\r\t\b\f""#)
        XCTAssertEqual(JSONText.quoted("\u{0}\u{1F}"), #""\u0000\u001f""#)
        XCTAssertEqual(JSONText.quoted("é/<>\u{7F}"), "\"é/<>\u{7F}\"")
    }
}
