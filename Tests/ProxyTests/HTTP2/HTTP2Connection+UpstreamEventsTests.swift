import Flows
import Foundation
import Glibc
import HTTP2
import XCTest

@testable import Proxy

/// The upstream side's events (HTTP2Connection+UpstreamEvents): trailers relayed, a refused or vanishing upstream answered 503 per stream with the failure in the flow record.
/// End to end over loopback, as HTTP2ConnectionTests.
final class HTTP2ConnectionUpstreamEventsTests: ProxyTestCase {
    func testAllowedGRPCRelaysTrailers() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try h2client()
        let id = try c.session.submitRequest(
            HTTP2Peer.request(
                "POST", "/allowed/post/grpc",
                [("content-type", "application/grpc")]), hasBody: true)
        c.session.append(stream: id, [0, 0, 0, 0, 0])
        c.session.end(stream: id)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        let blocks = c.headers(id)
        XCTAssertEqual(blocks.count, 2)
        XCTAssertEqual(blocks.last?.text(of: "grpc-status"), "0")
        XCTAssertEqual(c.body(id), [0, 0, 0, 0, 0])
    }

    func testRefusedUpstreamGets503PerStream() throws {
        try start(HTTP2Peer.upstreamScript)
        let raw = try proxy.connect(upstreamPort: Loopback.closedPort())
        let c = try HTTP2Peer(socket: raw, role: .client)
        let a = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/a"), hasBody: false)
        let g = try c.session.submitRequest(
            HTTP2Peer.request("GET", "/allowed/g", [("content-type", "application/grpc")]),
            hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(a) && c.isClosed(g) })
        XCTAssertEqual(c.headers(a).first?.text(of: ":status"), "503")
        XCTAssertEqual(String(decoding: c.body(a), as: UTF8.self), Self.connectFailure)
        XCTAssertEqual(c.headers(g).first?.text(of: "grpc-status"), "14")
        // The connection itself stays usable: the next stream tries a new upstream connection.
        // (The closed port carries no HTTP rules, so every path is allowed there.)
        let d = try c.session.submitRequest(HTTP2Peer.request("GET", "/other"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(d) })
        XCTAssertEqual(c.headers(d).first?.text(of: ":status"), "503")
        // Each 503's response flow names the refused connect: upstream, ECONNREFUSED.
        let responses = proxy.sink.waitForFlows(6).filter { $0.l7?.type == .response }
        XCTAssertEqual(
            responses.compactMap { $0.http?.code }.sorted(), [200, 503, 503], "gRPC's is a 200 with grpc-status 14")
        XCTAssertEqual(
            responses.map { $0.http?.connectionError }, Array(repeating: .init(side: .upstream, errno: 111), count: 3))
    }

    /// An upstream that takes the connection and ends it before answering: the stream gets 503
    /// and its response flow names the upstream's end (side and errno).
    func testUpstreamEndingBeforeAnsweringGives503WithTheFailureInTheRecord() throws {
        try start { socket in
            _ = socket.read(exactly: HTTP2Preface.bytes.count)
            _ = Glibc.shutdown(socket.fd, Int32(SHUT_RDWR))
        }
        let c = try h2client()
        let id = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/gone"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(id) })
        XCTAssertEqual(c.headers(id).first?.text(of: ":status"), "503")
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map { $0.l7?.type }, [.request, .response])
        XCTAssertEqual(flows.last?.http?.code, 503)
        XCTAssertEqual(flows.last?.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: 0))
    }
}
