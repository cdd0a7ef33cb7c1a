import Flows
import Glibc
import Policy
import SluiceIO
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `ProxyServer` with real worker threads on loopback: one HTTP listener per worker in one
/// SO_REUSEPORT group on the configured port (and DNS listeners with `dns`), a published snapshot
/// taken by every worker before `publishAndWait` returns, stats summed over the workers, and
/// `stop` closing every listener.
final class ProxyServerTests: XCTestCase {
    private var server: ProxyServer?

    override func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    /// A free port on 127.0.0.1 (bound, then closed).
    private func freePort() throws -> UInt16 {
        let fd = try Socket.listenTCP(address: Loopback.networkOrder, port: 0, transparent: false, reusePort: false)
        defer { Socket.close(fd) }
        return Loopback.localPort(fd)
    }

    /// Two workers on a free port, with the backend's rules for that port; client connections are
    /// steered as client -> backend ingress.
    private func start(dns: DNSProxyConfig? = nil, sink: CollectingSink? = nil) throws -> (ProxyServer, UInt16) {
        let port = try freePort()
        var config = ProxyConfig(workers: 2, httpListenPort: port)
        config.maxConnections = 10
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: port))
        let server = ProxyServer(config: config)
        self.server = server
        try server.start(
            steering: FixedSteering(TestPolicy.ingressSteer(snapshot)), flows: sink, snapshot: snapshot, dns: dns)
        return (server, port)
    }

    /// The status line the proxy answers `GET path` with on `port` (the proxy itself is the
    /// original destination, so only requests it answers itself are sent).
    private func status(port: UInt16, path: String) throws -> String {
        let client = try XCTUnwrap(TestSocket.connect(port: port))
        client.send("GET \(path) HTTP/1.1\r\nHost: backend\r\n\r\n")
        let head = String(decoding: client.read(through: "\r\n"), as: UTF8.self)
        return head.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testOneListenerPerWorkerInOneReusePortGroup() throws {
        let (server, port) = try start()
        XCTAssertEqual(server.httpListenerFDs.count, 2)
        XCTAssertEqual(server.httpListenerFDs.map(Loopback.localPort), [port, port])
        XCTAssertEqual(server.dnsUDPListenerFDs, [], "no DNS listeners without dns")
        XCTAssertEqual(server.dnsTCPListenerFDs, [])
        for fd in server.httpListenerFDs {
            var value: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            XCTAssertEqual(getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &value, &length), 0)
            XCTAssertEqual(value, 1)
        }
        XCTAssertEqual(try status(port: port, path: "/denied"), "HTTP/1.1 403 Forbidden")
    }

    func testDNSListenersPerWorkerWithDNS() throws {
        let dnsPort = try freePort()
        let (server, _) = try start(dns: DNSProxyConfig(listenPort: dnsPort))
        XCTAssertEqual(server.dnsUDPListenerFDs.count, 2)
        XCTAssertEqual(server.dnsTCPListenerFDs.count, 2)
        XCTAssertEqual(server.dnsUDPListenerFDs.map { DNSSocket.localAddress($0)?.port }, [dnsPort, dnsPort])
        XCTAssertEqual(server.dnsTCPListenerFDs.map(Loopback.localPort), [dnsPort, dnsPort])
    }

    func testPublishAndWaitReturnsOnceEveryWorkerTookTheSnapshot() throws {
        let sink = CollectingSink()
        let (server, port) = try start(sink: sink)
        XCTAssertEqual(try status(port: port, path: "/denied"), "HTTP/1.1 403 Forbidden")
        // The new rules let only app=other in: the client is now a peer no rule allows, and its
        // connections are dropped before any request is read.
        let other = try TestPolicy.snapshot(
            TestPolicy.yaml(port: port).replacingOccurrences(of: "app: client", with: "app: other"))
        XCTAssertTrue(server.publishAndWait(other))
        // Each on a new connection, which the kernel hands to either worker.
        for _ in 0..<6 { XCTAssertEqual(try status(port: port, path: "/denied"), "", "closed without an answer") }
        let flows = sink.waitForFlows(8)
        XCTAssertEqual(flows.count, 8)
        XCTAssertEqual(flows.first?.l7Verdict?.reason, .noRuleMatched, "before: the path matched no rule")
        XCTAssertEqual(flows.dropFirst().first?.http?.code, 403)
        let after = flows.dropFirst(2)
        XCTAssertEqual(after.map(\.verdict), Array(repeating: .dropped, count: 6))
        XCTAssertEqual(after.filter { $0.l7 != nil }.count, 0, "after: dropped as connections, no request read")
    }

    func testStatsSumTheWorkersConnectionsAndCaps() throws {
        let (server, port) = try start()
        let idle = try XCTUnwrap(server.stats())
        XCTAssertEqual(idle.openConnections, 0)
        XCTAssertEqual(idle.connectionCap, 10, "5 per worker, summed")
        let clients = try (0..<4).map { _ in try XCTUnwrap(TestSocket.connect(port: port)) }
        for c in clients { c.send("GET /allowed HTTP/1.1\r\n") }  // unfinished heads stay open
        XCTAssertTrue(eventually { server.stats()?.openConnections == 4 }, "\(String(describing: server.stats()))")
        clients.forEach { $0.shutdownWrite() }
        XCTAssertTrue(eventually { server.stats()?.openConnections == 0 })
    }

    func testStopClosesEveryListener() throws {
        let (server, port) = try start(dns: DNSProxyConfig(listenPort: try freePort()))
        let fds = server.httpListenerFDs + server.dnsUDPListenerFDs + server.dnsTCPListenerFDs
        XCTAssertEqual(fds.count, 6)
        server.stop()
        self.server = nil
        XCTAssertEqual(server.httpListenerFDs + server.dnsUDPListenerFDs + server.dnsTCPListenerFDs, [])
        XCTAssertNil(TestSocket.connect(port: port), "nothing listens on the port any more")
    }
}
