import HTTP2
import XCTest

final class HTTP2HeaderBlockTests: XCTestCase {
    func testFieldsAreStoredBackToBackInOrder() {
        let block = HTTP2HeaderBlock([(":method", "GET"), ("x-a", "1"), ("x-a", "2")])
        XCTAssertEqual(block.storage, Array(":methodGETx-a1x-a2".utf8))
        XCTAssertEqual(block.fields.map(\.name), [0..<7, 10..<13, 14..<17])
        XCTAssertEqual(block.fields.map(\.value), [7..<10, 13..<14, 17..<18])
        XCTAssertEqual(block.pairs.map { "\($0.0)=\($0.1)" }, [":method=GET", "x-a=1", "x-a=2"])
        XCTAssertEqual(block.text(of: "x-a"), "1")
        XCTAssertEqual(block.value(of: ":method").map(Array.init), Array("GET".utf8))
        XCTAssertNil(block.text(of: "X-A"), "HTTP/2 names are lowercase; lookup is exact")
        XCTAssertNil(block.text(of: "x-"))
    }

    func testListSizeCountsThirtyTwoPerField() {
        let block = HTTP2HeaderBlock([("ab", "cde"), ("f", "")])
        XCTAssertEqual(block.listSize, (2 + 3 + 32) + (1 + 0 + 32))
        XCTAssertFalse(block.overflowed)
    }

    func testOverflowStopsStoringButKeepsCounting() {
        var block = HTTP2HeaderBlock()
        block.append(name: Array("a".utf8), value: Array("1".utf8))
        let limit = 34 + 34
        [UInt8]("b".utf8).withUnsafeBytes { n in
            [UInt8]("2".utf8).withUnsafeBytes { v in block.append(name: n, value: v, limit: limit) }
        }
        XCTAssertFalse(block.overflowed, "exactly at the limit")
        [UInt8]("c".utf8).withUnsafeBytes { n in
            [UInt8]("3".utf8).withUnsafeBytes { v in block.append(name: n, value: v, limit: limit) }
        }
        XCTAssertTrue(block.overflowed)
        [UInt8]("d".utf8).withUnsafeBytes { n in
            [UInt8]("4".utf8).withUnsafeBytes { v in block.append(name: n, value: v, limit: .max) }
        }
        XCTAssertEqual(block.pairs.map(\.0), ["a", "b"], "nothing stored once overflowed")
        XCTAssertEqual(block.listSize, 4 * 34)
    }

    func testAppendOverloadsAgree() {
        var a = HTTP2HeaderBlock()
        a.append(name: "x", value: "yz")
        var b = HTTP2HeaderBlock()
        Array("yz".utf8).withUnsafeBytes { b.append(name: "x", value: $0) }
        XCTAssertEqual(a, b)
        XCTAssertEqual(a, HTTP2HeaderBlock([("x", "yz")]))
    }

    func testFilteredDropsOnlyWhatItIsTold() {
        let block = HTTP2HeaderBlock([(":path", "/"), ("connection", "close"), ("x-keep", "1"), ("te", "trailers")])
        let kept = block.filtered { name, _ in name.elementsEqual("connection".utf8) || name.elementsEqual("te".utf8) }
        XCTAssertEqual(kept.pairs.map(\.0), [":path", "x-keep"])
        XCTAssertEqual(kept.listSize, (5 + 1 + 32) + (6 + 1 + 32))
        let byValue = block.filtered { _, value in value.elementsEqual("1".utf8) }
        XCTAssertEqual(byValue.pairs.map(\.0), [":path", "connection", "te"])
        XCTAssertEqual(block.filtered { _, _ in false }, block)
    }
}
