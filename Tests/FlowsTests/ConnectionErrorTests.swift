import CSluiceShared
import XCTest

@testable import Flows

/// A failed peer connection in an HTTP response record: side and errno survive the record and
/// show at the end of `Summary`.
final class ConnectionErrorTests: XCTestCase {
    typealias F = FlowFixtures

    private func response(side: UInt8?, errno: Int32) -> Flow {
        let common = F.common(.error, from: F.server, 80, to: F.client, 43210, time: F.mono(millis: 5))
        return F.record { p in
            F.bytes("GET") { m in
                F.bytes("server") { a in
                    F.bytes("/x") { path in
                        FlowRecordWriter.writeHTTP(
                            p, common: common, l7Type: .response, method: m, scheme: "http",
                            authority: a, path: path, code: 200, latencyNs: 3_000_000, proto: .http11)
                    }
                }
            }
            if let side { FlowRecordWriter.setHTTPConnectionError(p, side: side, errno: errno) }
        }.1
    }

    func testUpstreamResetIsDecodedAndSummarised() {
        let flow = response(side: 2, errno: 104)
        XCTAssertEqual(flow.l7?.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: 104))
        XCTAssertEqual(flow.summary, "HTTP/1.1 200 3ms (GET http://server/x) upstream ECONNRESET")
    }

    func testDownstreamEOFAndUnnamedErrno() {
        XCTAssertEqual(response(side: 1, errno: 0).l7?.http?.connectionError?.text, "downstream EOF")
        XCTAssertEqual(response(side: 2, errno: 5).l7?.http?.connectionError?.text, "upstream errno 5")
        XCTAssertEqual(response(side: 1, errno: 71).l7?.http?.connectionError?.text, "downstream EPROTO")
        XCTAssertEqual(
            response(side: 2, errno: 129).l7?.http?.connectionError?.text,
            "upstream EKEYREJECTED (TLS certificate not verified)")
        XCTAssertEqual(
            response(side: 1, errno: 2).l7?.http?.connectionError?.text, "downstream ENOENT (TLS secret missing)")
        XCTAssertEqual(
            response(side: 1, errno: 92).l7?.http?.connectionError?.text,
            "downstream ENOPROTOOPT (ALPN: the client offers only h2, the upstream speaks HTTP/1.1)")
    }

    func testRecordWithoutErrorHasNone() {
        let flow = response(side: nil, errno: 0)
        XCTAssertNil(flow.l7?.http?.connectionError)
        XCTAssertEqual(flow.summary, "HTTP/1.1 200 3ms (GET http://server/x)")
    }

    /// A SERVFAIL the proxy made up after the upstream TCP connection was reset: the DNS
    /// response record keeps side and errno too.
    func testDNSResponseCarriesTheFailure() {
        let common = F.common(.error, from: F.server, 53, to: F.client, 40000, time: F.mono(millis: 5))
        let flow = F.record { p in
            F.bytes("x.example.") { q in
                FlowRecordWriter.writeDNS(
                    p, common: common, l7Type: .response, query: q, qtype: 1, rcode: 2, ttl: 0,
                    rrtypes: [], latencyNs: 0)
            }
            FlowRecordWriter.setDNSConnectionError(p, side: 2, errno: 104)
        }.1
        XCTAssertEqual(flow.l7?.dns?.connectionError, Flow.ConnectionError(side: .upstream, errno: 104))
        XCTAssertEqual(flow.summary, "DNS Answer RCode: SERVFAIL TTL: 0 (Proxy x.example. A) upstream ECONNRESET")
        let plain = F.record { p in
            F.bytes("x.example.") { q in
                FlowRecordWriter.writeDNS(
                    p, common: common, l7Type: .response, query: q, qtype: 1, rcode: 2, ttl: 0,
                    rrtypes: [], latencyNs: 0)
            }
        }.1
        XCTAssertNil(plain.l7?.dns?.connectionError)
    }
}
