import HTTP1
import XCTest

@testable import Proxy

/// Where a message ends in the buffer that holds it, for each framing: lengths, chunked bodies
/// scanned incrementally across reads, bodies until close, and what `consumed` moves.
final class MessageFramingTests: XCTestCase {
    private func available(_ framing: inout MessageFraming, _ text: String) -> Int {
        Array(text.utf8).withUnsafeBytes { framing.available(in: $0) }
    }

    func testNothingLeftBeforeTheFirstMessage() {
        var framing = MessageFraming()
        XCTAssertTrue(framing.isComplete())
        XCTAssertTrue(framing.isFullyRead)
        XCTAssertEqual(available(&framing, "GET / HTTP/1.1\r\n"), 0)
    }

    func testContentLengthCountsTheHeadAndTheBody() throws {
        var framing = try XCTUnwrap(
            MessageFraming(.contentLength(5), headLength: 10, isRequest: true, limits: .default))
        XCTAssertEqual(available(&framing, "0123456789abc"), 13, "all buffered bytes are the message's")
        XCTAssertEqual(available(&framing, "0123456789abcdeXYZ"), 15, "the next message starts at 15")
        framing.consumed(13)
        XCTAssertFalse(framing.isComplete())
        XCTAssertFalse(framing.isFullyRead)
        XCTAssertEqual(available(&framing, "deXYZ"), 2)
        framing.consumed(2)
        XCTAssertTrue(framing.isComplete())
        XCTAssertNil(MessageFraming(.contentLength(Int.max), headLength: 10, isRequest: true, limits: .default))
    }

    func testAChunkedBodyIsScannedAcrossReads() throws {
        let head = "POST / HTTP/1.1\r\n\r\n"
        var framing = try XCTUnwrap(
            MessageFraming(.chunked, headLength: head.utf8.count, isRequest: true, limits: .default))
        XCTAssertEqual(available(&framing, head + "5\r\nhel"), head.utf8.count + 6)
        XCTAssertFalse(framing.isFullyRead)
        let whole = head + "5\r\nhello\r\n0\r\n\r\n"
        XCTAssertEqual(available(&framing, whole + "NEXT"), whole.utf8.count)
        XCTAssertTrue(framing.isFullyRead)
        XCTAssertFalse(framing.isComplete(), "read, but still buffered")
        framing.consumed(whole.utf8.count)
        XCTAssertTrue(framing.isComplete())
        XCTAssertEqual(available(&framing, "NEXT"), 0)
    }

    func testAMalformedChunkIsMinusOne() throws {
        var framing = try XCTUnwrap(MessageFraming(.chunked, headLength: 0, isRequest: false, limits: .default))
        XCTAssertEqual(available(&framing, "zz\r\n"), -1)
    }

    func testUntilCloseOnlyForResponses() throws {
        var response = try XCTUnwrap(MessageFraming(.untilClose, headLength: 4, isRequest: false, limits: .default))
        XCTAssertEqual(available(&response, "headbody and more"), 17)
        response.consumed(17)
        XCTAssertFalse(response.isComplete())
        XCTAssertFalse(response.isFullyRead)
        XCTAssertTrue(response.isComplete(closedAndDrained: true))
        var request = try XCTUnwrap(MessageFraming(.untilClose, headLength: 4, isRequest: true, limits: .default))
        XCTAssertEqual(available(&request, "headbody"), 4, "a request without a length has no body")
        var noBody = try XCTUnwrap(MessageFraming(.none, headLength: 4, isRequest: false, limits: .default))
        XCTAssertEqual(available(&noBody, "headbody"), 4)
    }
}
