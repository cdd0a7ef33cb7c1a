import Flows
import Foundation
import Glibc
import SluiceTestSupport
import XCTest

@testable import Proxy

/// The failure edges of `HTTP1Connection`: malformed and oversized requests, upstreams that
/// refuse, never accept or never answer, and connections no policy admits.
final class HTTP1ConnectionErrorTests: ProxyTestCase {
    func testMalformedRequestGets400AndClose() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nbad header line\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readToEnd()), localReply("400 Bad Request", body: "Bad Request", close: true))
        XCTAssertEqual(c.end, .eof)
        XCTAssertEqual(upstream.connections.count, 0)
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map(\.verdict), [.error, .forwarded])
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 400])
    }

    func testOverLongHeadGets431AndClose() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        let filler = String(repeating: "a", count: 1000)
        var request = "GET /allowed HTTP/1.1\r\nhost: backend\r\n"
        for i in 0..<80 { request += "x-filler-\(i): \(filler)\r\n" }
        c.send(request + "\r\n")
        let response = c.readToEnd()
        XCTAssertEqual(
            withoutDate(response),
            localReply("431 Request Header Fields Too Large", body: "Bad Request", close: true))
        XCTAssertEqual(upstream.connections.count, 0)
    }

    func testRefusedUpstreamGets503AndConnectionStaysUsable() throws {
        try start(UpstreamServer.echoRequestLine)
        let closed = Loopback.closedPort()
        let c = try proxy.connect(upstreamPort: closed)
        // The policy is for the upstream's port; a port without HTTP rules is not enforced at L7.
        c.send("GET /anything HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("503 Service Unavailable", body: Self.connectFailure))
        c.send("GET /again HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("503 Service Unavailable", body: Self.connectFailure))
        let flows = proxy.sink.waitForFlows(4)
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 503, 0, 503])
    }

    func testConnectTimeoutGets503() throws {
        // A listener whose accept queue is full drops further SYNs, so the proxy's connect hangs.
        let full = try XCTUnwrap(Loopback.listen(backlog: 0))
        defer { Glibc.close(full.fd) }
        var fillers: [Int32] = []
        defer { fillers.forEach { Glibc.close($0) } }
        for _ in 0..<3 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            var addr = Loopback.address(port: full.port)
            _ = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            fillers.append(fd)
        }
        // The queue is full once a filler is connected (backlog 0 holds one) and another is not.
        XCTAssertTrue(
            eventually { fillers.filter(Loopback.isConnected).count == 1 },
            "accept queue full")
        try start(UpstreamServer.echoRequestLine, config: ProxyConfig(workers: 1, connectTimeoutNs: 200_000_000))
        let c = try proxy.connect(upstreamPort: full.port)
        let (now, _) = proxy.timers()
        c.send("GET /x HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertTrue(eventually { self.proxy.timers().next == now + 200_000_000 }, "connect deadline armed")
        proxy.advance(by: 200_000_000 - 1)
        XCTAssertTrue(c.nothingToRead, "no answer 1 ns before the connect timeout")
        proxy.advance(by: 1)
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("503 Service Unavailable", body: Self.connectFailure))
    }

    func testUpstreamThatNeverAnswersGets504AfterTheRequestTimeout() throws {
        try start(
            { socket in _ = socket.readToEnd() },
            config: ProxyConfig(workers: 1, requestTimeoutNs: 200_000_000))
        let c = try client()
        let (now, _) = proxy.timers()
        c.send("GET /allowed/slow HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertTrue(eventually { self.upstream.received() == "GET /allowed/slow HTTP/1.1\r\nhost: backend\r\n\r\n" })
        XCTAssertEqual(proxy.timers().next, now + 200_000_000, "response deadline armed when the request was sent")
        proxy.advance(by: 200_000_000 - 1)
        XCTAssertTrue(c.nothingToRead, "no answer 1 ns before the request timeout")
        XCTAssertEqual(proxy.sink.flows.count, 1, "only the request flow 1 ns before the timeout")
        proxy.advance(by: 1)
        XCTAssertEqual(
            withoutDate(c.readMessage()), localReply("504 Gateway Timeout", body: "upstream request timeout"))
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 504])
    }

    func testUpstreamClosingBeforeAnyResponseByteGets503() throws {
        try start { socket in
            _ = socket.readMessage()
            socket.shutdownWrite()
        }
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("503 Service Unavailable", body: Self.connectFailure))
    }

    func testInvalidUpstreamResponseGets502AndClose() throws {
        try start { socket in
            _ = socket.readMessage()
            socket.send("HTTP/1.1 2000 Nope\r\n\r\n")
            _ = socket.readToEnd()
        }
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            withoutDate(c.readToEnd()),
            localReply("502 Bad Gateway", body: "upstream sent an invalid response", close: true))
    }

    func testPeerNoRuleAdmitsIsResetWithAnL3L4DropFlow() throws {
        try start(
            UpstreamServer.echoRequestLine,
            steer: { snapshot in
                SteerInfo(
                    endpointID: TestPolicy.backendID, sourceIdentity: 2,
                    destinationIdentity: snapshot.identity(ofEndpoint: TestPolicy.backendID) ?? 0,
                    direction: .ingress)
            })
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(c.readToEnd(), [])
        XCTAssertEqual(c.end, .reset)
        XCTAssertEqual(upstream.connections.count, 0)
        let flows = proxy.sink.waitForFlows(1)
        XCTAssertEqual(flows.count, 1)
        XCTAssertEqual(flows.first?.verdict, .dropped)
        XCTAssertEqual(flows.first?.type, .l3L4)
        XCTAssertEqual(flows.first?.dropReason, 133)
        XCTAssertEqual(flows.first?.source?.identity, 2)
    }

    func testUnsteeredConnectionIsReset() throws {
        try start(UpstreamServer.echoRequestLine, steer: { _ in nil })
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(c.readToEnd(), [])
        XCTAssertEqual(c.end, .reset)
        XCTAssertEqual(upstream.connections.count, 0)
    }
}
