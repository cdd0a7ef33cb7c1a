import HTTP1
import XCTest

@testable import Proxy

final class RequestViewTests: XCTestCase {
    private func split(_ target: String) -> (authority: String, path: String)? {
        Array(target.utf8).withUnsafeBytes { bytes in
            RequestView.splitAbsoluteForm(bytes).map {
                (String(decoding: $0.authority, as: UTF8.self), String(decoding: $0.path, as: UTF8.self))
            }
        }
    }

    func testAbsoluteFormSplitsIntoAuthorityAndPath() {
        XCTAssertEqual(split("http://backend/get")?.authority, "backend")
        XCTAssertEqual(split("http://backend/get")?.path, "/get")
        XCTAssertEqual(split("http://backend:8080/a/b?c=d")?.authority, "backend:8080")
        XCTAssertEqual(split("http://backend:8080/a/b?c=d")?.path, "/a/b?c=d")
        XCTAssertEqual(split("https://user@host.example?x=1")?.authority, "user@host.example")
        XCTAssertEqual(split("https://user@host.example?x=1")?.path, "?x=1")
    }

    func testAbsoluteFormWithoutPathGetsSlash() {
        XCTAssertEqual(split("http://backend")?.authority, "backend")
        XCTAssertEqual(split("http://backend")?.path, "/")
        XCTAssertEqual(split("http://backend:80")?.path, "/")
    }

    func testOriginAndOtherFormsAreNotSplit() {
        XCTAssertNil(split("/get"))
        XCTAssertNil(split("/http://x/y"))
        XCTAssertNil(split("*"))
        XCTAssertNil(split("backend:443"))  // authority-form (CONNECT)
        XCTAssertNil(split("http:/x/y/z"))
        XCTAssertNil(split("abc://"))  // too short to carry an authority
        XCTAssertNil(split(""))
    }

    func testViewTakesAuthorityFromHostOrAbsoluteTarget() throws {
        func view(_ text: String, _ check: (RequestView) -> Void) {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { raw in
                var head = RequestHead()
                XCTAssertEqual(HTTP1Parser.parseRequestHead(raw, into: &head), .complete)
                RequestView.with(bytes: raw, head: &head, check)
            }
        }
        view("GET /p?q HTTP/1.1\r\nHost: backend\r\nX-A: 1\r\n\r\n") { v in
            XCTAssertEqual(String(decoding: v.method, as: UTF8.self), "GET")
            XCTAssertEqual(String(decoding: v.path, as: UTF8.self), "/p?q")
            XCTAssertEqual(String(decoding: v.authority, as: UTF8.self), "backend")
            XCTAssertFalse(v.isHEAD)
            var headers: [String] = []
            v.forEachHeader { name, value in
                headers.append(String(decoding: name, as: UTF8.self) + "=" + String(decoding: value, as: UTF8.self))
                return true
            }
            XCTAssertEqual(headers, ["Host=backend", "X-A=1"])
            var first: [String] = []
            v.forEachHeader { name, _ in
                first.append(String(decoding: name, as: UTF8.self))
                return false
            }
            XCTAssertEqual(first, ["Host"], "returning false stops the walk")
        }
        view("HEAD http://other:81/x HTTP/1.1\r\nHost: backend\r\n\r\n") { v in
            XCTAssertTrue(v.isHEAD)
            XCTAssertEqual(String(decoding: v.path, as: UTF8.self), "/x")
            XCTAssertEqual(String(decoding: v.authority, as: UTF8.self), "other:81")
        }
        view("GET / HTTP/1.0\r\n\r\n") { v in
            XCTAssertEqual(v.authority.count, 0)
            XCTAssertFalse(v.isHEAD)
        }
        view("head / HTTP/1.1\r\nhost: a\r\n\r\n") { v in
            XCTAssertFalse(v.isHEAD, "methods are case-sensitive (RFC 9110 9.1)")
        }
    }

    /// The view lends the head's own field list (the same storage, no copy) and leaves the head
    /// as it was; the prepared path and authority are what it shows.
    func testViewLendsTheHeadsFieldListInPlace() {
        let bytes = Array("GET /a/../b HTTP/1.1\r\nHost: backend\r\nX-A: 1\r\n\r\n".utf8)
        bytes.withUnsafeBytes { raw in
            var head = RequestHead()
            XCTAssertEqual(HTTP1Parser.parseRequestHead(raw, into: &head), .complete)
            // A second parse to compare with: a copy of `head` would share its list, and lending a
            // shared list makes it unique first (a copy), as it would in a connection that kept one.
            var before = RequestHead()
            XCTAssertEqual(HTTP1Parser.parseRequestHead(raw, into: &before), .complete)
            let storage = head.headers.withUnsafeBufferPointer { $0.baseAddress }
            let path: StaticString = "/b"
            let prepared = UnsafeRawBufferPointer(start: path.utf8Start, count: path.utf8CodeUnitCount)
            let (lent, count, shown) = RequestView.with(
                bytes: raw, head: &head, path: prepared, authority: UnsafeRawBufferPointer(rebasing: raw[28..<35])
            ) { v in
                (
                    v.fields.baseAddress, v.fields.count,
                    String(decoding: v.path, as: UTF8.self) + " " + String(decoding: v.authority, as: UTF8.self)
                )
            }
            XCTAssertEqual(lent, storage, "the list is lent, not copied")
            XCTAssertEqual(count, 2)
            XCTAssertEqual(shown, "/b backend")
            XCTAssertEqual(head, before)
        }
    }
}
