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

    // MARK: splicing: what may move socket to socket once nothing of the message is buffered

    func testContentLengthSplicesTheRestOfTheBody() throws {
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n"
        var framing = try XCTUnwrap(
            MessageFraming(.contentLength(1000), headLength: head.utf8.count, isRequest: false, limits: .default))
        let first = head + String(repeating: "x", count: 300)
        XCTAssertEqual(available(&framing, first), first.utf8.count)
        framing.consumed(first.utf8.count)
        XCTAssertEqual(framing.spliceable, 700)
        framing.spliced(650)
        XCTAssertEqual(framing.spliceable, 50)
        XCTAssertFalse(framing.isComplete())
        framing.spliced(50)
        XCTAssertEqual(framing.spliceable, 0, "never past the body's end")
        XCTAssertTrue(framing.isComplete())
        XCTAssertEqual(available(&framing, "HTTP/1.1 200 OK\r\n"), 0, "what follows is the next message")
    }

    func testChunkedSplicesChunkDataOnlyAndResumesScanningAfterIt() throws {
        var framing = try XCTUnwrap(MessageFraming(.chunked, headLength: 0, isRequest: false, limits: .default))
        XCTAssertEqual(framing.spliceable, 0, "a size line comes first")
        // The size line and 3 data bytes arrive: 0x10 = 16 bytes of data, 13 left after them.
        XCTAssertEqual(available(&framing, "10;a=b\r\nabc"), 11)
        XCTAssertEqual(framing.spliceable, 0, "bytes of the message are still buffered")
        framing.consumed(11)
        XCTAssertEqual(framing.spliceable, 13)
        framing.spliced(10)
        XCTAssertEqual(framing.spliceable, 3)
        framing.spliced(3)
        XCTAssertEqual(framing.spliceable, 0, "the CRLF after the data is framing")
        XCTAssertFalse(framing.isFullyRead)
        // The rest is scanned from the buffer: CRLF, a last chunk, a trailer, the end.
        let rest = "\r\n0\r\nx-t: 1\r\n\r\n"
        XCTAssertEqual(available(&framing, rest + "NEXT"), rest.utf8.count)
        XCTAssertTrue(framing.isFullyRead)
        framing.consumed(rest.utf8.count)
        XCTAssertTrue(framing.isComplete())
        XCTAssertEqual(framing.spliceable, 0)
    }

    /// `dataFollowsPipe`: body data still owed after what was spliced (a drain may say more
    /// follows): the rest of a Content-Length body or of a chunk's data; never an until-close
    /// body, never when framing comes next.
    func testDataFollowsThePipeOnlyWhileAKnownRemainderIsOwed() throws {
        var length = try XCTUnwrap(
            MessageFraming(.contentLength(100), headLength: 10, isRequest: false, limits: .default))
        XCTAssertTrue(length.dataFollowsPipe)
        length.consumed(10)
        length.spliced(99)
        XCTAssertTrue(length.dataFollowsPipe, "one byte still owed")
        length.spliced(1)
        XCTAssertFalse(length.dataFollowsPipe, "the body's end")

        var chunked = try XCTUnwrap(MessageFraming(.chunked, headLength: 0, isRequest: false, limits: .default))
        XCTAssertFalse(chunked.dataFollowsPipe, "a size line comes first")
        XCTAssertEqual(available(&chunked, "10\r\n"), 4)
        chunked.consumed(4)
        chunked.spliced(15)
        XCTAssertTrue(chunked.dataFollowsPipe)
        chunked.spliced(1)
        XCTAssertFalse(chunked.dataFollowsPipe, "the CRLF after the data is framing")

        let untilClose = try XCTUnwrap(MessageFraming(.untilClose, headLength: 0, isRequest: false, limits: .default))
        XCTAssertFalse(untilClose.dataFollowsPipe, "an until-close body may pause forever")
        XCTAssertEqual(untilClose.spliceable, Int.max)
    }

    func testAMalformedDelimiterAfterSplicedDataIsStillCaught() throws {
        var framing = try XCTUnwrap(MessageFraming(.chunked, headLength: 0, isRequest: true, limits: .default))
        XCTAssertEqual(available(&framing, "4\r\n"), 3)
        framing.consumed(3)
        framing.spliced(4)
        XCTAssertEqual(available(&framing, "XY0\r\n\r\n"), -1, "data must end with CRLF")
    }

    func testUntilCloseSplicesEverythingAndNoBodyNothing() throws {
        var response = try XCTUnwrap(MessageFraming(.untilClose, headLength: 4, isRequest: false, limits: .default))
        XCTAssertEqual(available(&response, "head"), 4)
        response.consumed(4)
        XCTAssertEqual(response.spliceable, Int.max)
        response.spliced(1 << 40)
        XCTAssertFalse(response.isComplete())
        XCTAssertTrue(response.isComplete(closedAndDrained: true))
        var none = try XCTUnwrap(MessageFraming(.none, headLength: 4, isRequest: false, limits: .default))
        none.consumed(4)
        XCTAssertEqual(none.spliceable, 0)
        var request = try XCTUnwrap(MessageFraming(.untilClose, headLength: 4, isRequest: true, limits: .default))
        request.consumed(4)
        XCTAssertEqual(request.spliceable, 0, "a request without a length has no body")
    }
}
