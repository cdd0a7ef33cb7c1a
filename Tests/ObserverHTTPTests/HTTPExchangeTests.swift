import XCTest

@testable import ObserverHTTP

final class HTTPExchangeTests: XCTestCase {
    func testTargetSplitsPathAndDecodedQuery() {
        let r = HTTPRequest(method: "GET", target: "/api/servicemap?namespace=a%2Db&x=1+2&flag&bad=%zz")
        XCTAssertEqual(r.path, "/api/servicemap")
        XCTAssertEqual(r.query, ["namespace": "a-b", "x": "1 2", "flag": "", "bad": "%zz"])
        XCTAssertEqual(HTTPRequest(method: "GET", target: "/metrics"), HTTPRequest(method: "GET", path: "/metrics"))
    }

    func testSerializedResponse() {
        let r = HTTPResponse(status: 404, text: "nope\n")
        XCTAssertEqual(
            String(decoding: r.serialized(close: true), as: UTF8.self),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n"
                + "Cache-Control: no-store\r\nConnection: close\r\n\r\nnope\n")
        let head = String(
            decoding: HTTPResponse(status: 200, text: "abc").serialized(close: false, headOnly: true), as: UTF8.self)
        XCTAssertEqual(
            head,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nCache-Control: no-store\r\n\r\n"
        )
    }
}
