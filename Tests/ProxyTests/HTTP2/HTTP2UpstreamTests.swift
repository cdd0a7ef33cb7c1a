import Flows
import Foundation
import Glibc
import HTTP2
import XCTest

@testable import Proxy

/// The upstream h2 session (HTTP2Upstream): a refused stream is replayed, large bodies both ways under flow control.
/// End to end over loopback, as HTTP2ConnectionTests.
final class HTTP2UpstreamTests: ProxyTestCase {
    func testRefusedStreamIsReplayed() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let id = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/refuse-once"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        XCTAssertEqual(c.headers(id).first?.text(of: ":status"), "200")
        XCTAssertEqual(String(decoding: c.body(id), as: UTF8.self), "ok GET /allowed/refuse-once 0")
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map { $0.l7?.type }, [.request, .response], "one request, one response flow")
    }

    func testLargeBodiesBothWays() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let up = try c.session.submitRequest(HTTP2Peer.request("POST", "/allowed/post"), hasBody: true)
        c.session.append(stream: up, [UInt8](repeating: 0x61, count: 3 << 20))
        c.session.end(stream: up)
        let down = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/big"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(up) && c.isClosed(down) })
        XCTAssertEqual(String(decoding: c.body(up), as: UTF8.self), "ok POST /allowed/post \(3 << 20)")
        XCTAssertEqual(c.body(down).count, 1 << 20)
    }
}
