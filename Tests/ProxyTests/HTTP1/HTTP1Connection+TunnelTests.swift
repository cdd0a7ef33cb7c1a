import Flows
import Glibc
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Proxy

/// Upgrades through `EmbeddedHTTP1` (docs/proxy.md "Upgrades"): a 101 is relayed, and becomes a
/// tunnel, only when the allowed request asked for that protocol; any other 101 is 502; an h2c
/// upgrade is judged before anything answers it: denied → 403, never 101.
final class HTTP1ConnectionTunnelTests: XCTestCase {
    private func make() throws -> EmbeddedHTTP1 {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: 8080))
        return try EmbeddedHTTP1(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot))
    }

    private static let webSocket =
        "GET /allowed/ws HTTP/1.1\r\nHost: backend\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    private static let switching =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    private static let h2cSettings = "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"

    func testAllowedWebSocketUpgradeBecomesATunnelWithA101Flow() throws {
        let e = try make()
        e.clientSends(Self.webSocket)
        e.upstreamConnects()
        XCTAssertEqual(e.upstreamReceived(), Self.webSocket, "the upgrade request is forwarded as it is")
        e.upstreamSends(Self.switching)
        XCTAssertEqual(e.clientReceived(), Self.switching)
        XCTAssertEqual(e.state, .tunnel(upstreamEnded: false))
        e.clientSends("\u{81}\u{05}hello")
        XCTAssertEqual(e.upstreamReceived(), "\u{81}\u{05}hello")
        e.upstreamSends("\u{81}\u{02}hi")
        XCTAssertEqual(e.clientReceived(), "\u{81}\u{02}hi")
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .forwarded])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 101])
        e.clientCloses()
        XCTAssertEqual(e.state, .closed)
        XCTAssertEqual(e.flows.count, 2, "an orderly end of the tunnel is no failure")
    }

    func testUnsolicited101Gets502AndNothingOfTheUpstreamReachesTheClient() throws {
        let e = try make()
        e.clientSends("GET /allowed HTTP/1.1\r\nHost: backend\r\n\r\n")
        e.upstreamConnects()
        e.upstreamSends(Self.switching + "\u{81}\u{03}sneaky")
        let reply = e.clientReceived()
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"), reply)
        XCTAssertTrue(reply.contains("connection: close\r\n"), reply)
        XCTAssertFalse(reply.contains("101") || reply.contains("sneaky"), reply)
        XCTAssertTrue(e.actions.contains(.closeUpstream))
        XCTAssertNotEqual(e.state, .tunnel(upstreamEnded: false))
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 502])
    }

    func testUpgradeHeaderWithoutConnectionUpgradeDoesNotAskForOne() throws {
        let e = try make()
        e.clientSends("GET /allowed/ws HTTP/1.1\r\nHost: backend\r\nUpgrade: websocket\r\n\r\n")
        e.upstreamConnects()
        e.upstreamSends(Self.switching)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 502])
    }

    func test101ForAProtocolNotAskedForGets502() throws {
        let e = try make()
        e.clientSends(Self.webSocket)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 101 Switching Protocols\r\nUpgrade: tls/1.3\r\nConnection: Upgrade\r\n\r\n")
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 502])
    }

    func test101WithoutUpgradeFieldGets502() throws {
        let e = try make()
        e.clientSends(Self.webSocket)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n")
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
    }

    func testUpgradeRefusedByTheUpstreamStaysHTTP() throws {
        let e = try make()
        e.clientSends(Self.webSocket)
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        XCTAssertEqual(e.clientReceived(), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        XCTAssertEqual(e.state, .readingHead)
        // The next request asks for nothing: a 101 to it is unsolicited.
        e.clientSends("GET /allowed/2 HTTP/1.1\r\nHost: backend\r\n\r\n")
        e.upstreamSends(Self.switching)
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
    }

    func testDeniedWebSocketUpgradeGets403AndNeverReachesTheUpstream() throws {
        let e = try make()
        e.clientSends("GET /secret HTTP/1.1\r\nHost: backend\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 403 Forbidden\r\n"))
        XCTAssertEqual(e.actions, [])
        XCTAssertEqual(e.flows.map(\.verdict), [.dropped, .forwarded])
    }

    func testH2CUpgradeOnADeniedPathGets403AndNever101() throws {
        let e = try make()
        e.clientSends(
            "GET /secret HTTP/1.1\r\nHost: backend\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                + Self.h2cSettings + "\r\n")
        let reply = e.clientReceived()
        XCTAssertTrue(reply.hasPrefix("HTTP/1.1 403 Forbidden\r\n"), reply)
        XCTAssertFalse(reply.contains("101"), reply)
        XCTAssertEqual(e.actions, [], "neither handed to HTTP/2 nor forwarded")
        XCTAssertEqual(e.flows.map(\.verdict), [.dropped, .forwarded])
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 403])
        XCTAssertEqual(e.flows.first?.http?.protocol, "HTTP/1.1")
    }

    func testH2CUpgradeOnAnAllowedPathIsHandedToHTTP2() throws {
        let e = try make()
        e.clientSends(
            "GET /allowed HTTP/1.1\r\nHost: backend\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                + Self.h2cSettings + "\r\n")
        XCTAssertEqual(e.actions, [.handOffToHTTP2])
        XCTAssertEqual(e.flows.count, 0, "HTTP2Connection judges and records stream 1")
    }

    func testH2CUpgradeWithAChunkedBodyIs400() throws {
        let e = try make()
        e.clientSends(
            "POST /allowed HTTP/1.1\r\nHost: backend\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                + Self.h2cSettings + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        XCTAssertEqual(e.actions.contains(.handOffToHTTP2), false)
    }

    func testUpstream101ToAnH2CRequestIsNeverATunnel() throws {
        let e = try make()
        // Not a complete h2c upgrade (no HTTP2-Settings): forwarded as HTTP/1.1.
        e.clientSends("GET /allowed HTTP/1.1\r\nHost: backend\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
        e.upstreamConnects()
        e.upstreamSends("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
        XCTAssertTrue(e.clientReceived().hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"))
        XCTAssertEqual(e.flows.map { $0.http?.code }, [0, 502])
    }

    func testUpgradeTokensAreComparedWithoutCaseOrWhitespace() {
        let list = Array(" WebSocket , foo/2,,h2c ".utf8).withUnsafeBytes { UpgradeTokens.list($0) }
        XCTAssertEqual(list.map { String(decoding: $0, as: UTF8.self) }, ["websocket", "foo/2", "h2c"])
    }
}
