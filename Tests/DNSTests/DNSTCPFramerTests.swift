import XCTest

@testable import DNS

final class DNSTCPFramerTests: XCTestCase {
    private let first = Fixtures.queryExampleA
    private let second = Fixtures.cnameChainResponse

    private var stream: [UInt8] {
        (DNSTCPFramer.frame(first) ?? []) + (DNSTCPFramer.frame(second) ?? [])
    }

    func testFramePrefixesBigEndianLength() {
        XCTAssertEqual(DNSTCPFramer.frame(first), [0, UInt8(first.count)] + first)
        XCTAssertNil(DNSTCPFramer.frame([UInt8](repeating: 0, count: 65536)))
        XCTAssertEqual(DNSTCPFramer.frame([UInt8](repeating: 0, count: 300))?.prefix(2), [0x01, 0x2C])
    }

    func testEverySplitPoint() throws {
        let stream = stream
        for split in 0...stream.count {
            var framer = DNSTCPFramer()
            var messages: [[UInt8]] = []
            messages += try stream[..<split].withUnsafeBytes { try framer.feed($0) }
            messages += try stream[split...].withUnsafeBytes { try framer.feed($0) }
            XCTAssertEqual(messages, [first, second], "split \(split)")
            XCTAssertEqual(framer.bufferedCount, 0)
        }
    }

    func testByteAtATime() throws {
        var framer = DNSTCPFramer()
        var messages: [[UInt8]] = []
        for byte in stream + stream {
            messages += try [byte].withUnsafeBytes { try framer.feed($0) }
        }
        XCTAssertEqual(messages, [first, second, first, second])
    }

    func testPartialMessageWaits() throws {
        var framer = DNSTCPFramer()
        framer.append(Array(stream.prefix(10)))
        XCTAssertNil(try framer.nextMessage())
        XCTAssertEqual(framer.bufferedCount, 10)
    }

    func testLimits() {
        var framer = DNSTCPFramer(maxMessageSize: 100)
        framer.append([0, 101])
        XCTAssertThrowsError(try framer.nextMessage()) { XCTAssertEqual($0 as? DNSFramingError, .messageTooLarge) }
        var short = DNSTCPFramer()
        short.append([0, 11] + [UInt8](repeating: 0, count: 11))
        XCTAssertThrowsError(try short.nextMessage()) { XCTAssertEqual($0 as? DNSFramingError, .messageTooShort) }
        var exact = DNSTCPFramer(maxMessageSize: 100)
        exact.append([0, 100] + [UInt8](repeating: 0, count: 100))
        XCTAssertEqual(try exact.nextMessage()?.count, 100)
    }
}
