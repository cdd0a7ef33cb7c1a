import Flows
import Glibc
import HTTP2
import Policy
import SluiceIO
import SluiceModel

@testable import Proxy

/// An `HTTP2Link` over an `EmbeddedPipe`, with the socket's readiness rules (`EmbeddedPeer`).
final class EmbeddedHTTP2Link: HTTP2Link {
    let pipe: EmbeddedPipe
    private var peer: EmbeddedPeer
    /// What `connectError` reports once the test delivers writable (0: connected).
    var connectResult: Int32 = 0

    init(side: PeerSide, ready: Bool) {
        pipe = EmbeddedPipe()
        peer = EmbeddedPeer(pipe: pipe, side: side, readable: ready, writable: ready)
    }

    var readable: Bool {
        get { peer.readable }
        set { peer.readable = newValue }
    }
    var writable: Bool {
        get { peer.writable }
        set { peer.writable = newValue }
    }
    var isTLS: Bool { false }

    func read(into buffer: IOBuffer) -> IOStep { peer.read(into: buffer) }
    func write(_ bytes: UnsafeRawBufferPointer) -> IOStep { peer.write(bytes) }
    func connectError() -> Int32 { connectResult }

    func shutdownWrite() { pipe.writeShutdown = true }

    func close(reset: Bool) {
        guard peer.pipe != nil else { return }
        pipe.closed = true
        pipe.reset = reset
        peer.pipe = nil
    }
}

/// The in-memory `HTTP2Transport`: the client's link, and one link per upstream connection the
/// handler opens with the handler that hears its events.
final class EmbeddedHTTP2Transport: HTTP2Transport {
    let clientLink = EmbeddedHTTP2Link(side: .downstream, ready: true)
    private(set) var upstreams: [(link: EmbeddedHTTP2Link, handler: EventHandler)] = []
    /// The next connect fails at once with this errno.
    var connectRefusal: Int32?

    func client(handler: EventHandler) -> HTTP2Link? { clientLink }

    func openUpstream(handler: EventHandler) throws(SyscallError) -> HTTP2Link {
        if let refusal = connectRefusal { throw SyscallError("connect", errno: refusal) }
        let link = EmbeddedHTTP2Link(side: .upstream, ready: false)
        upstreams.append((link, handler))
        return link
    }
}

/// An `HTTP2Connection` driven without sockets or threads, as NIO's EmbeddedChannel drives a
/// pipeline: a client `HTTP2Session` (libnghttp2) makes the client's bytes, a server
/// `HTTP2Session` plays the upstream and answers each request when it ends (`answer`), and the
/// test moves bytes between them and the handler with `exchange()`, delivering the readiness
/// events a loop would. The loop is never run; time is its `ManualClock`.
final class EmbeddedHTTP2 {
    let clock = ManualClock()
    let ctx: WorkerContext
    let sink = CollectingSink()
    let transport = EmbeddedHTTP2Transport()
    let connection: HTTP2Connection
    /// The client's session and what it heard, per event (DATA credit returned at once).
    let client: HTTP2Session
    private(set) var clientEvents: [HTTP2Event] = []
    /// The upstream's session (one upstream connection) and the requests it received, in order.
    private(set) var upstream: HTTP2Session?
    private(set) var upstreamRequests: [HTTP2HeaderBlock] = []
    private var pendingRequests: [Int32: HTTP2HeaderBlock] = [:]
    /// The upstream's answer to a request: status and body (default: 200, "ok PATH").
    var answer: (HTTP2HeaderBlock) -> (status: Int, body: String) = { request in
        (200, "ok " + (request.text(of: ":path") ?? ""))
    }
    /// Whether the upstream connect has been completed.
    private var upstreamConnected = false

    init(snapshot: PolicySnapshot, steer: SteerInfo?, upstreamPort: UInt16 = 8080) throws {
        let loop = try EventLoop(clock: clock)
        ctx = WorkerContext(
            loop: loop, config: ProxyConfig(workers: 1), steering: FixedSteering(steer), flows: sink,
            snapshot: snapshot)
        let addresses = ConnectionAddresses(
            clientAddress: UInt32(bigEndian: 0x0A00_0007), clientPort: 40000,
            originalDestinationAddress: UInt32(bigEndian: 0x0A00_0003),
            originalDestinationPort: upstreamPort)
        client = try HTTP2Session(role: .client, clock: ManualClock(startNs: 0))
        guard
            let connection = HTTP2Connection(
                ctx: ctx, transport: transport, addresses: addresses, steer: steer,
                initial: UnsafeRawBufferPointer(start: nil, count: 0), upgrade: nil)
        else { throw SyscallError("nghttp2_session_server_new", errno: ENOMEM) }
        self.connection = connection
        connection.start()
    }

    deinit { connection.close() }

    var flows: [Flow] { sink.flows }
    var clientPipe: EmbeddedPipe { transport.clientLink.pipe }

    /// The client opens a stream with `request` (no body); its bytes go out on the next exchange.
    @discardableResult
    func clientRequests(_ request: HTTP2HeaderBlock) throws -> Int32 {
        try client.submitRequest(request, hasBody: false)
    }

    /// Raw bytes from the client (after whatever its session queued, its preface first, unless
    /// `afterSession` is false), and the proxy hears them.
    func clientSendsRaw(_ bytes: [UInt8], afterSession: Bool = true) {
        if afterSession { flushClient() }
        clientPipe.inbound += bytes
        connection.handleEvents(EventLoop.Events.readable, tag: 0)
    }

    /// Moves bytes until nothing moves: the client's frames to the handler, the handler's frames
    /// to the client and to the upstream (connecting it at once), the upstream's answers back.
    func exchange() throws {
        for _ in 0..<64 {
            var moved = flushClient()
            if !clientPipe.outbound.isEmpty {
                let bytes = clientPipe.outbound
                clientPipe.outbound.removeAll()
                try bytes.withUnsafeBytes { try client.receive($0) }
                collectClient()
                moved = true
            }
            if let (link, handler) = transport.upstreams.last, !link.pipe.closed {
                if !upstreamConnected {
                    upstreamConnected = true
                    upstream = try HTTP2Session(role: .server, clock: ManualClock(startNs: 0))
                    handler.handleEvents(EventLoop.Events.writable, tag: 0)
                    moved = true
                }
                moved = try serveUpstream(link, handler) || moved
            }
            if !moved { return }
        }
    }

    /// The client session's queued frames into the client pipe; the proxy hears readable.
    @discardableResult
    private func flushClient() -> Bool {
        var bytes: [UInt8] = []
        while let chunk = try? client.produce() { bytes += chunk }
        collectClient()
        guard !bytes.isEmpty else { return false }
        clientPipe.inbound += bytes
        connection.handleEvents(EventLoop.Events.readable, tag: 0)
        return true
    }

    private func collectClient() {
        for e in client.takeEvents() {
            if case .data(let id, let bytes) = e { client.consume(stream: id, bytes.count) }
            clientEvents.append(e)
        }
    }

    /// The upstream reads what the proxy wrote, answers ended requests, and writes back.
    private func serveUpstream(_ link: EmbeddedHTTP2Link, _ handler: EventHandler) throws -> Bool {
        guard let upstream else { return false }
        var moved = false
        if !link.pipe.outbound.isEmpty {
            let bytes = link.pipe.outbound
            link.pipe.outbound.removeAll()
            try bytes.withUnsafeBytes { try upstream.receive($0) }
            moved = true
        }
        for e in upstream.takeEvents() {
            var ended: Int32?
            switch e {
            case .headers(let id, let block, .request, let endStream):
                pendingRequests[id] = block
                upstreamRequests.append(block)
                if endStream { ended = id }
            case .data(let id, let bytes): upstream.consume(stream: id, bytes.count)
            case .endStream(let id): ended = id
            default: break
            }
            guard let id = ended, let request = pendingRequests.removeValue(forKey: id) else { continue }
            let (status, body) = answer(request)
            try upstream.submitResponse(
                stream: id, HTTP2HeaderBlock([(":status", String(status))]), hasBody: !body.isEmpty)
            if !body.isEmpty {
                _ = upstream.append(stream: id, Array(body.utf8))
                upstream.end(stream: id)
            }
        }
        var bytes: [UInt8] = []
        while let chunk = try upstream.produce() { bytes += chunk }
        _ = upstream.takeEvents()
        if !bytes.isEmpty {
            link.pipe.inbound += bytes
            handler.handleEvents(EventLoop.Events.readable, tag: 0)
            moved = true
        }
        return moved
    }

    // MARK: what the client heard

    /// The `:status` of the response on `stream`, if one came.
    func status(_ stream: Int32) -> String? {
        for e in clientEvents {
            if case .headers(stream, let block, _, _) = e, let status = block.text(of: ":status") { return status }
        }
        return nil
    }

    /// The body bytes received on `stream`, as text.
    func body(_ stream: Int32) -> String {
        let bytes = clientEvents.reduce(into: [UInt8]()) { acc, e in if case .data(stream, let b) = e { acc += b } }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The GOAWAY error code the client received, if any.
    /// Moves the loop's clock and fires the timers that came due.
    func advance(by ns: UInt64) {
        clock.advance(by: ns)
        ctx.loop.runDueTimers()
    }

    /// The proxy's frames written so far, read by the client's session (no new client bytes).
    func clientReads() throws {
        let bytes = clientPipe.outbound
        clientPipe.outbound.removeAll()
        try bytes.withUnsafeBytes { try client.receive($0) }
        collectClient()
    }

    var goaway: UInt32? {
        for e in clientEvents { if case .goaway(_, let code) = e { return code } }
        return nil
    }

    /// Whether `stream` was reset by the proxy (RST_STREAM received).
    func wasReset(_ stream: Int32) -> Bool {
        clientEvents.contains { if case .reset(stream, _) = $0 { return true } else { return false } }
    }
}
