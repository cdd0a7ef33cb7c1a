import XCTest

@testable import HTTP1

final class HeaderFieldTests: XCTestCase {
    private let bytes = Array(ascii: "Host: a\r\nX-Id: 7\r\nx-id: 8\r\n")
    private let fields = [
        HeaderField(name: 0..<4, value: 6..<7), HeaderField(name: 9..<13, value: 15..<16),
        HeaderField(name: 18..<22, value: 24..<25),
    ]

    func testNameAndValueSliceTheBuffer() {
        bytes.withUnsafeBytes { buffer in
            XCTAssertEqual(Array(fields[1].name(in: buffer)), Array(ascii: "X-Id"))
            XCTAssertEqual(Array(fields[1].value(in: buffer)), Array(ascii: "7"))
            XCTAssertEqual(Array(fields[0].value(in: buffer)), Array(ascii: "a"))
        }
    }

    func testFirstValueIsCaseInsensitiveAndTakesTheFirst() {
        bytes.withUnsafeBytes { buffer in
            XCTAssertEqual(fields.firstValue(named: "x-ID", in: buffer), 15..<16)
            XCTAssertEqual(fields.firstValue(named: "HOST", in: buffer), 6..<7)
            XCTAssertNil(fields.firstValue(named: "x-i", in: buffer))
            XCTAssertNil(fields.firstValue(named: "x-idd", in: buffer))
            XCTAssertNil([HeaderField]().firstValue(named: "host", in: buffer))
        }
    }
}
