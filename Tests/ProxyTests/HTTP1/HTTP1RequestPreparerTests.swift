import HTTP1
import XCTest

@testable import Proxy

/// `HTTP1RequestPreparer` on request heads as bytes: the path and authority the policy matches,
/// the head that is forwarded (byte for byte when nothing changed, rebuilt otherwise), the
/// redirect of encoded slashes, and the rejections.
final class HTTP1RequestPreparerTests: XCTestCase {
    /// What `prepare` decided, as text, and the head to forward ("" = the received one).
    private struct Prepared: Equatable {
        var outcome: String
        var forwardedHead: String
    }

    private func prepare(
        _ text: String, underscores: HeadersWithUnderscoresAction = .rejectRequest, maxTarget: Int = 1024
    ) -> Prepared {
        var preparer = HTTP1RequestPreparer(maxTargetBytes: maxTarget)
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            var head = RequestHead()
            XCTAssertEqual(HTTP1Parser.parseRequestHead(raw, into: &head), .complete)
            let outcome: String
            switch preparer.prepare(bytes: raw, head: &head, underscores: underscores) {
            case .forward(let path, let authority):
                outcome =
                    "forward \(String(decoding: path, as: UTF8.self)) @\(String(decoding: authority, as: UTF8.self))"
            case .reject(let error):
                outcome = "reject \(error)"
            case .redirect(let location):
                outcome = "redirect \(String(decoding: location, as: UTF8.self))"
            }
            XCTAssertEqual(preparer.hasRewrittenHead, !preparer.rewrittenHead.isEmpty)
            return Prepared(outcome: outcome, forwardedHead: String(decoding: preparer.rewrittenHead, as: UTF8.self))
        }
    }

    func testACanonicalOriginFormRequestIsForwardedAsReceived() throws {
        XCTAssertEqual(
            prepare("GET /api/items?x=1 HTTP/1.1\r\nHost: backend:8080\r\nAccept: */*\r\n\r\n"),
            Prepared(outcome: "forward /api/items?x=1 @backend:8080", forwardedHead: ""))
    }

    func testADotSegmentPathIsMatchedAndForwardedNormalised() throws {
        XCTAssertEqual(
            prepare("GET /public/../admin/./x HTTP/1.1\r\nHost: b\r\n\r\n"),
            Prepared(
                outcome: "forward /admin/x @b", forwardedHead: "GET /admin/x HTTP/1.1\r\nHost: b\r\n\r\n"))
    }

    func testAnEncodedSlashIsRedirectedToTheUnescapedPath() throws {
        XCTAssertEqual(prepare("GET /a%2Fb HTTP/1.1\r\nHost: b\r\n\r\n").outcome, "redirect /a/b")
    }

    func testAnAbsoluteFormTargetsAuthorityWinsOverHost() throws {
        XCTAssertEqual(
            prepare("GET http://api.example:81/x HTTP/1.1\r\nHost: other\r\nA: 1\r\n\r\n"),
            Prepared(
                outcome: "forward /x @api.example:81",
                forwardedHead: "GET http://api.example:81/x HTTP/1.1\r\nHost: api.example:81\r\nA: 1\r\n\r\n"))
        XCTAssertEqual(
            prepare("GET http://api.example/x HTTP/1.0\r\n\r\n"),
            Prepared(
                outcome: "forward /x @api.example",
                forwardedHead: "GET http://api.example/x HTTP/1.0\r\nhost: api.example\r\n\r\n"),
            "added when there is no Host")
    }

    func testARepeatedIdenticalContentLengthIsForwardedOnce() throws {
        XCTAssertEqual(
            prepare("POST /u HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nX: y\r\ncontent-length: 3\r\n\r\n"),
            Prepared(
                outcome: "forward /u @b",
                forwardedHead: "POST /u HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\nX: y\r\n\r\n"))
    }

    func testUnderscoreHeaderNamesAreRejectedDroppedOrAllowed() throws {
        let request = "GET / HTTP/1.1\r\nHost: b\r\nX_Forwarded: 1\r\nY: 2\r\n\r\n"
        XCTAssertEqual(prepare(request).outcome, "reject \(ParseError.underscoreInHeaderName)")
        XCTAssertEqual(
            prepare(request, underscores: .dropHeader),
            Prepared(outcome: "forward / @b", forwardedHead: "GET / HTTP/1.1\r\nHost: b\r\nY: 2\r\n\r\n"))
        XCTAssertEqual(prepare(request, underscores: .allow), Prepared(outcome: "forward / @b", forwardedHead: ""))
    }

    func testABadHostOrTargetAuthorityIsRejected() throws {
        XCTAssertTrue(prepare("GET / HTTP/1.1\r\nHost: a b\r\n\r\n").outcome.hasPrefix("reject "))
        XCTAssertTrue(prepare("GET http://a@b/ HTTP/1.1\r\nHost: b\r\n\r\n").outcome.hasPrefix("reject "))
    }

    func testHeaderEditsWorkOnTheRebuiltHeadOrTheReceivedOne() throws {
        var preparer = HTTP1RequestPreparer(maxTargetBytes: 64)
        for (text, forwarded) in [
            ("GET /a/../b HTTP/1.1\r\nHost: b\r\n\r\n", "GET /b HTTP/1.1\r\nHost: b\r\n\r\n"),
            ("GET /c HTTP/1.1\r\nHost: b\r\n\r\nbody", "GET /c HTTP/1.1\r\nHost: b\r\n\r\n"),
        ] {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { raw in
                var head = RequestHead()
                XCTAssertEqual(HTTP1Parser.parseRequestHead(raw, into: &head), .complete)
                guard case .forward = preparer.prepare(bytes: raw, head: &head, underscores: .allow) else {
                    return XCTFail("not forwarded")
                }
                preparer.rewrittenWritten = 5
                preparer.apply(HTTPHeaderEdits(), bytes: raw, headLength: head.headLength)
                XCTAssertEqual(String(decoding: preparer.rewrittenHead, as: UTF8.self), forwarded)
                XCTAssertEqual(preparer.rewrittenWritten, 0, "a new head is written from its start")
                preparer.finishRewrite()
                XCTAssertFalse(preparer.hasRewrittenHead)
            }
        }
    }
}
