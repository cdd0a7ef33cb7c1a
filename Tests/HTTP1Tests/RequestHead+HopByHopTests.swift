import XCTest

@testable import HTTP1

/// `RequestHead.soleConnectionCloseLine`: the line a proxy drops to keep its upstream reusable.
final class HopByHopTests: XCTestCase {
    private func line(_ text: String) -> String? {
        let bytes = Array(ascii: text)
        var head = RequestHead()
        let result = bytes.withUnsafeBytes { HTTP1Parser.parseRequestHead($0, into: &head) }
        guard case .complete = result else { XCTFail("did not parse: \(text)"); return nil }
        return bytes.withUnsafeBytes { b in
            head.soleConnectionCloseLine(in: b).map { String(decoding: b.slice($0), as: UTF8.self) }
        }
    }

    func testTheOneCloseLineIsFound() {
        XCTAssertEqual(
            line("GET / HTTP/1.1\r\nHost: a\r\nConnection:  CLOSE \r\nX: y\r\n\r\n"), "Connection:  CLOSE \r\n")
        XCTAssertEqual(line("GET / HTTP/1.1\r\nconnection: close\r\nHost: a\r\n\r\n"), "connection: close\r\n")
    }

    func testAnythingElseIsLeftAlone() {
        XCTAssertNil(line("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        XCTAssertNil(line("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, x-foo\r\n\r\n"))
        XCTAssertNil(line("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nConnection: close\r\n\r\n"))
        XCTAssertNil(line("GET / HTTP/1.0\r\nHost: a\r\nConnection: close\r\n\r\n"), "HTTP/1.0 upstreams close anyway")
        XCTAssertNil(line("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"))
    }
}
