import Flows
import Foundation
import Glibc
import HTTP2
import XCTest

@testable import Proxy

/// HTTP2Connection end to end over loopback: a client HTTP2Session, the proxy worker (reached
/// through the HTTP/1 entry, so detection is exercised) and an h2c upstream script.
final class HTTP2ConnectionTests: ProxyTestCase {
    func testH2CUpgrade() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try client()
        c.send(
            "POST /allowed/post HTTP/1.1\r\nHost: backend\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\ncontent-length: 5\r\n\r\nhello")
        let peer = try HTTP2Peer(socket: c, role: .client)
        let head = peer.readHTTP1Head()
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), head)
        try peer.session.upgrade(
            settings: HTTP2Upgrade.base64url(UnsafeRawBufferPointer(start: nil, count: 0)) ?? [],
            headRequest: false)
        XCTAssertTrue(peer.pump { _ in peer.isClosed(1) })
        XCTAssertEqual(peer.headers(1).first?.text(of: ":status"), "200")
        XCTAssertEqual(String(decoding: peer.body(1), as: UTF8.self), "ok POST /allowed/post 5")
        let id = try peer.session.submitRequest(HTTP2Peer.request("DELETE", "/allowed/post"), hasBody: false)
        XCTAssertTrue(peer.pump { _ in peer.isClosed(id) })
        XCTAssertEqual(peer.headers(id).first?.text(of: ":status"), "403")
    }

    /// An upgraded request's HTTP/1 body is not flow-controlled: it is read only as fast as the
    /// upstream takes it, and arrives whole.
    func testH2CUpgradeWithLargeBody() throws {
        try start(HTTP2Peer.upstreamScript)
        let c = try client()
        let size = 2 << 20
        c.send(
            "POST /allowed/post HTTP/1.1\r\nHost: backend\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                + "Upgrade: h2c\r\nHTTP2-Settings: \r\ncontent-length: \(size)\r\n\r\n")
        c.send([UInt8](repeating: 0x7A, count: size))
        let peer = try HTTP2Peer(socket: c, role: .client)
        XCTAssertTrue(peer.readHTTP1Head().hasPrefix("HTTP/1.1 101 "))
        try peer.session.upgrade(settings: [], headRequest: false)
        XCTAssertTrue(peer.pump { _ in peer.isClosed(1) })
        XCTAssertEqual(String(decoding: peer.body(1), as: UTF8.self), "ok POST /allowed/post \(size)")
    }
}
