import XCTest

@testable import Flows

/// Layer-7 records: the HTTP/DNS accessors, the path of a URL, DNS type and rcode names.
final class FlowLayer7Tests: XCTestCase {
    func testRecordAccessors() {
        let http = Flow.Layer7(type: .request, record: .http(.init(code: 200, method: "GET")))
        XCTAssertEqual(http.http?.method, "GET")
        XCTAssertNil(http.dns)
        let dns = Flow.Layer7(type: .response, record: .dns(.init(query: "a.com.")))
        XCTAssertEqual(dns.dns?.query, "a.com.")
        XCTAssertNil(dns.http)
        XCTAssertNil(Flow.Layer7(type: .request).http)
    }

    func testPathOfAURL() {
        func path(_ url: String) -> String { Flow.HTTP(url: url).path }
        XCTAssertEqual(path("http://server.default/public/a?x=1"), "/public/a")
        XCTAssertEqual(path("https://h:8443/p#frag"), "/p")
        XCTAssertEqual(path("http://host-only"), "")
        XCTAssertEqual(path("/relative?q"), "/relative")
        XCTAssertEqual(path("/a/b"), "/a/b")
        XCTAssertEqual(path(""), "")
        XCTAssertEqual(path("a:b://h/c?d"), "/c", "the first :// starts the authority")
        XCTAssertEqual(path("http:/x?y"), "http:/x")
        XCTAssertEqual(path("h://"), "")
        XCTAssertEqual(path("http://h/\u{e9}t\u{e9}?q"), "/\u{e9}t\u{e9}", "non-ASCII takes the character path")
    }

    /// The byte scan of ASCII urls gives what the character walk gives, on every url built from
    /// the characters that matter.
    func testASCIIPathEqualsTheCharacterWalk() {
        func characterPath(_ url: String) -> String {
            var rest = Substring(url)
            if let schemeEnd = rest.firstRange(of: "://") {
                rest = rest[schemeEnd.upperBound...]
                guard let slash = rest.firstIndex(of: "/") else { return "" }
                rest = rest[slash...]
            }
            if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<cut] }
            return String(rest)
        }
        let alphabet: [Character] = [":", "/", "?", "#", "a", "\r", "\n"]
        var urls: [String] = [""]
        for _ in 0..<5 { urls = urls.flatMap { u in alphabet.map { u + String($0) } } }
        for url in urls {
            XCTAssertEqual(Flow.HTTP.asciiPath(url), characterPath(url), "url \(url.debugDescription)")
        }
    }

    func testDNSNames() {
        XCTAssertEqual([1, 28, 5, 65, 255].map { Flow.DNS.typeName($0) }, ["A", "AAAA", "CNAME", "HTTPS", "ANY"])
        XCTAssertEqual(Flow.DNS.typeName(99), "TYPE99")
        XCTAssertEqual(
            [0, 2, 3, 5, 23].map { Flow.DNS.rcodeName($0) },
            ["NOERROR", "SERVFAIL", "NXDOMAIN", "REFUSED", "BADCOOKIE"])
        XCTAssertEqual(Flow.DNS.rcodeName(11), "11")
        XCTAssertEqual(Flow.DNS().observationSource, "proxy")
    }
}
