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
        XCTAssertEqual(response(side: 2, errno: 71).l7?.http?.connectionError?.text, "upstream errno 71")
    }

    func testRecordWithoutErrorHasNone() {
        let flow = response(side: nil, errno: 0)
        XCTAssertNil(flow.l7?.http?.connectionError)
        XCTAssertEqual(flow.summary, "HTTP/1.1 200 3ms (GET http://server/x)")
    }
}
