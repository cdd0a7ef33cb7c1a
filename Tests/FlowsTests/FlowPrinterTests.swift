import Foundation
import XCTest

@testable import Flows

final class FlowPrinterTests: XCTestCase {
    private let utc = PrintTimeZone.utc

    /// Reference §5.4, line for line.
    func testCompactMatchesReferenceExamples() {
        let expected = [
            "Aug  1 10:00:00.123: default/client-7d9f:43210 (ID:11231) -> default/server-5c6b:80 (ID:22411) http-request FORWARDED (HTTP/1.1 GET http://server.default/public)",
            "Aug  1 10:00:00.127: default/client-7d9f:43210 (ID:11231) <- default/server-5c6b:80 (ID:22411) http-response FORWARDED (HTTP/1.1 200 4ms (GET http://server.default/public))",
            "Aug  1 10:00:00.300: default/client-7d9f:43211 (ID:11231) -> default/server-5c6b:80 (ID:22411) http-request DROPPED (HTTP/1.1 DELETE http://server.default/admin)",
            "Aug  1 10:00:00.300: default/client-7d9f:43211 (ID:11231) <- default/server-5c6b:80 (ID:22411) http-response FORWARDED (HTTP/1.1 403 0ms (DELETE http://server.default/admin))",
            "Aug  1 10:00:01.000: default/client-7d9f:51515 (ID:11231) -> kube-system/coredns-6f6b:53 (ID:48125) dns-request proxy FORWARDED (DNS Query cilium.io. A)",
            "Aug  1 10:00:01.004: default/client-7d9f:51515 (ID:11231) <- kube-system/coredns-6f6b:53 (ID:48125) dns-response proxy FORWARDED (DNS Answer \"104.198.14.52\" TTL: 300 (Proxy cilium.io. A))",
            "Aug  1 10:00:01.200: default/client-7d9f:51516 (ID:11231) -> kube-system/coredns-6f6b:53 (ID:48125) dns-request proxy DROPPED (DNS Query evil.example. A)",
            "Aug  1 10:00:02.500: default/client-7d9f:43212 (ID:11231) <> default/server-5c6b:8080 (ID:22411) policy-verdict:none INGRESS DENIED (TCP Flags: SYN)",
            "Aug  1 10:00:02.500: default/client-7d9f:43212 (ID:11231) <> default/server-5c6b:8080 (ID:22411) Policy denied DROPPED (TCP Flags: SYN)",
        ]
        let got = FlowFixtures.compactExamples.map { FlowPrinter.compact($0, timeZone: utc) }
        XCTAssertEqual(got.count, expected.count)
        for (g, e) in zip(got, expected) { XCTAssertEqual(g, e) }
    }

    func testCompactNodeNameWorldAndTimeZone() {
        var f = FlowFixtures.compactExamples[8]
        f.source = FlowEndpoint(identity: 2, labels: ["reserved:world"])
        f.ip?.source = "1.2.3.4"
        let line = FlowPrinter.compact(f, timeZone: PrintTimeZone.fixed(secondsEastOfUTC: 3600), printNodeName: true)
        XCTAssertEqual(
            line,
            "Aug  1 11:00:02.500 [kind-worker]: 1.2.3.4:43212 (world) <> "
                + "default/server-5c6b:8080 (ID:22411) Policy denied DROPPED (TCP Flags: SYN)")
    }

    func testDict() {
        let block = FlowPrinter.dict(FlowFixtures.compactExamples[0], timeZone: utc)
        XCTAssertEqual(
            block,
            """
              TIMESTAMP: Aug  1 10:00:00.123
                 SOURCE: default/client-7d9f:43210
            DESTINATION: default/server-5c6b:80
                   TYPE: http-request
                VERDICT: FORWARDED
                SUMMARY: HTTP/1.1 GET http://server.default/public
            """)
    }

    func testStampMilliPadsDayAndTruncatesMillis() {
        let t = Flow.Timestamp(seconds: 1_767_225_599, nanos: 999_999_999)  // 2025-12-31T23:59:59.999999999Z
        XCTAssertEqual(CivilTime.stampMilli(t, utcOffsetSeconds: 0), "Dec 31 23:59:59.999")
        XCTAssertEqual(CivilTime.stampMilli(Flow.Timestamp(seconds: 0), utcOffsetSeconds: 0), "Jan  1 00:00:00.000")
    }

    func testRFC3339TrimsInGroupsOfThree() {
        let s = FlowFixtures.baseSeconds
        XCTAssertEqual(CivilTime.rfc3339(.init(seconds: s, nanos: 123_456_789)), "2026-08-01T10:00:00.123456789Z")
        XCTAssertEqual(CivilTime.rfc3339(.init(seconds: s + 2, nanos: 500_000_000)), "2026-08-01T10:00:02.500Z")
        XCTAssertEqual(CivilTime.rfc3339(.init(seconds: s + 1, nanos: 1)), "2026-08-01T10:00:01.000000001Z")
        XCTAssertEqual(CivilTime.rfc3339(.init(seconds: s, nanos: 120_000)), "2026-08-01T10:00:00.000120Z")
        XCTAssertEqual(CivilTime.rfc3339(.init(seconds: s)), "2026-08-01T10:00:00Z")
        XCTAssertEqual(CivilTime.rfc3339(.init(seconds: 951_782_400)), "2000-02-29T00:00:00Z")
    }
}
