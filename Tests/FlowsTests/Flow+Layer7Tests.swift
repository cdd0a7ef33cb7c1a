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
