import CSluiceShared
import XCTest

@testable import Flows

/// Hubble's redaction (FlowRedaction) where HTTP flows are written (FlowRecordWriter.writeHTTP):
/// the query and fragment cut off, a userinfo password replaced by HUBBLE_REDACTED, nothing done
/// unless redaction is enabled; header lists decide header values.
final class FlowRedactionTests: XCTestCase {
    private let common = FlowFixtures.common(
        .forwarded, from: FlowFixtures.client, 43210, to: FlowFixtures.server, 80,
        time: FlowFixtures.mono(millis: 0))

    private func url(path: String, authority: String = "server.default", _ redaction: FlowRedaction) -> String {
        let saved = FlowRedaction.current
        FlowRedaction.current = redaction
        defer { FlowRedaction.current = saved }
        let flow = FlowFixtures.http(common, .request, method: "GET", path: path, authority: authority)
        guard case .http(let http)? = flow.l7?.record else { XCTFail("no HTTP record"); return "" }
        return http.url
    }

    func testQueryAndUserInfoAreRedactedOnlyWhenEnabled() {
        var r = FlowRedaction()
        r.urlQuery = true
        r.userInfo = true
        XCTAssertEqual(
            url(path: "/get?token=secret", authority: "bob:pw@server.default", r),
            "http://bob:pw@server.default/get?token=secret", "not enabled: nothing redacted")
        r.enabled = true
        XCTAssertEqual(
            url(path: "/get?token=secret#frag", authority: "bob:pw@server.default", r),
            "http://bob:HUBBLE_REDACTED@server.default/get")
        XCTAssertEqual(url(path: "/a#b", r), "http://server.default/a")
        XCTAssertEqual(
            url(path: "/plain", authority: "bob@server.default", r), "http://bob@server.default/plain",
            "no password: the user name stays")
        r.urlQuery = false
        XCTAssertEqual(
            url(path: "/get?x=1", authority: "bob:pw@server.default", r),
            "http://bob:HUBBLE_REDACTED@server.default/get?x=1")
    }

    func testHeaderLists() {
        var r = FlowRedaction()
        r.enabled = true
        r.headersAllow = ["content-type"]
        XCTAssertEqual(r.headerValue(name: "content-type", value: "text/plain"), "text/plain")
        XCTAssertEqual(r.headerValue(name: "authorization", value: "Bearer x"), "HUBBLE_REDACTED")
        r.headersAllow = []
        r.headersDeny = ["authorization"]
        XCTAssertEqual(r.headerValue(name: "authorization", value: "Bearer x"), "HUBBLE_REDACTED")
        XCTAssertEqual(r.headerValue(name: "accept", value: "*/*"), "*/*")
        r.enabled = false
        XCTAssertEqual(r.headerValue(name: "authorization", value: "Bearer x"), "Bearer x")
    }
}
