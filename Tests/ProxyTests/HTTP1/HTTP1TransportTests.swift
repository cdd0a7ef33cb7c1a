import Glibc
import Policy
import SluiceIO
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `SocketTransport`, the production `HTTP1Transport`, on real loopback sockets and an event loop
/// stepped on the test thread: the client's events reach the handler, the upstream is connected
/// with the connection's SO_MARK (or taken from the worker's pool once parked), a refused connect
/// shows its errno, and the client is closed with FIN, RST or a write half-close.
final class HTTP1TransportTests: XCTestCase {
    private final class Recorder: EventHandler {
        var tags: [UInt32] = []
        func handleEvents(_ events: UInt32, tag: UInt32) { tags.append(tag) }
    }

    private var loop: EventLoop!
    private var ctx: WorkerContext!
    private var upstream: (fd: Int32, port: UInt16)!
    private var proxyListener: (fd: Int32, port: UInt16)!
    private var accepted: [Int32] = []
    private let handler = Recorder()

    override func setUpWithError() throws {
        loop = try EventLoop(clock: ManualClock())
        ctx = WorkerContext(
            loop: loop, config: ProxyConfig(workers: 1), steering: FixedSteering(nil), flows: nil,
            snapshot: try TestPolicy.snapshot(TestPolicy.yaml(port: 1)))
        upstream = try XCTUnwrap(Loopback.listen())
        proxyListener = try XCTUnwrap(Loopback.listen())
    }

    override func tearDown() {
        accepted.forEach { _ = Glibc.close($0) }
        Glibc.close(upstream.fd)
        Glibc.close(proxyListener.fd)
        ctx = nil
        loop = nil
    }

    /// A client connection as the listener hands it over: the test's end and a transport whose
    /// original destination is the upstream listener.
    private func transport(steer: SteerInfo? = nil, port: UInt16? = nil) throws -> (TestSocket, SocketTransport) {
        let client = try XCTUnwrap(TestSocket.connect(port: proxyListener.port))
        let fd = accept(proxyListener.fd, nil, nil)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let addresses = ConnectionAddresses(
            clientAddress: Loopback.networkOrder, clientPort: Loopback.localPort(client.fd),
            originalDestinationAddress: Loopback.networkOrder, originalDestinationPort: port ?? upstream.port)
        return (client, SocketTransport(ctx: ctx, fd: fd, addresses: addresses, steer: steer))
    }

    private func mark(_ fd: Int32) -> UInt32 {
        var value: UInt32 = 0
        var length = socklen_t(MemoryLayout<UInt32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_MARK, &value, &length)
        return value
    }

    /// Steps the loop until `handler` heard from `tag`, at most 2 s.
    private func heard(_ tag: UInt32) -> Bool {
        let start = SystemClock.monotonicNs()
        while !handler.tags.contains(tag), SystemClock.monotonicNs() - start < 2_000_000_000 {
            loop.runOnce(timeoutMs: 50)
        }
        return handler.tags.contains(tag)
    }

    func testTheClientsEventsReachTheHandlerWithTheDownstreamTag() throws {
        var (client, t) = try transport()
        XCTAssertTrue(t.start(handler: handler))
        client.send("GET / HTTP/1.1\r\n\r\n")
        XCTAssertTrue(heard(HTTP1Tag.downstream))
        XCTAssertFalse(handler.tags.contains(HTTP1Tag.upstream))
        var buffer = [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(recv(t.client.fd, &buffer, 64, 0), 18, "the request is there to read")
        t.closeClient(reset: false)  // with nothing unread: FIN, not RST
        XCTAssertTrue(client.readToEnd().isEmpty)
        XCTAssertEqual(client.end, .eof)
    }

    func testTheUpstreamCarriesTheMarkAndIsPooledOnlyWhenAsked() throws {
        let steer = SteerInfo(endpointID: 3, sourceIdentity: 1234, destinationIdentity: 5, direction: .ingress)
        var (_, first) = try transport(steer: steer)
        XCTAssertTrue(first.start(handler: handler))
        XCTAssertEqual(first.openUpstream(handler: handler), .pending, "a new connection")
        let upstreamSide = accept(upstream.fd, nil, nil)
        accepted.append(upstreamSide)
        XCTAssertTrue(heard(HTTP1Tag.upstream), "writable once connected")
        XCTAssertEqual(first.connectError(), 0)
        XCTAssertEqual(mark(first.server.fd), steer.upstreamMark, "the client's identity rides along")
        let fd = first.server.fd
        first.parkUpstream()
        XCTAssertFalse(first.server.isOpen)
        XCTAssertEqual(ctx.upstreams.count, 1)

        var (_, second) = try transport(steer: steer)
        XCTAssertEqual(second.openUpstream(handler: handler, pooled: false), .pending, "never pooled when told")
        accepted.append(accept(upstream.fd, nil, nil))
        XCTAssertNotEqual(second.server.fd, fd)
        second.closeUpstream()
        XCTAssertEqual(second.openUpstream(handler: handler), .ready, "the parked one")
        XCTAssertEqual(second.server.fd, fd)
        XCTAssertEqual(ctx.upstreams.count, 0)

        var (_, other) = try transport(steer: nil)
        XCTAssertEqual(other.openUpstream(handler: handler), .pending, "another mark: not that pool entry")
        XCTAssertEqual(mark(other.server.fd), ProxyMarks.fromProxy(identity: 0))
        accepted.append(accept(upstream.fd, nil, nil))
        other.closeUpstream()
        second.closeUpstream()
    }

    func testARefusedConnectShowsItsErrno() throws {
        var (_, t) = try transport(port: Loopback.closedPort())
        switch t.openUpstream(handler: handler) {
        case .failed(let e):
            XCTAssertEqual(e, ECONNREFUSED)
        case .pending:
            XCTAssertTrue(heard(HTTP1Tag.upstream))
            XCTAssertEqual(t.connectError(), ECONNREFUSED)
            t.closeUpstream()
        case .ready:
            XCTFail("nothing was pooled")
        }
    }

    func testTheClientIsResetOrHalfClosed() throws {
        var (reset, t) = try transport()
        XCTAssertTrue(t.start(handler: handler))
        t.closeClient(reset: true)
        _ = reset.readToEnd()
        XCTAssertEqual(reset.end, .reset)

        var (halfClosed, u) = try transport()
        XCTAssertTrue(u.start(handler: handler))
        u.shutdownClientWrite()
        _ = halfClosed.readToEnd()
        XCTAssertEqual(halfClosed.end, .eof, "the proxy's side still reads")
        halfClosed.send("late")
        var byte = [UInt8](repeating: 0, count: 8)
        XCTAssertEqual(recv(u.client.fd, &byte, 8, 0), 4)
        u.closeClient(reset: false)
    }
}
