import SluiceIO

/// How an `HTTP1Connection` reaches its two peers: read/write steps on `client` and `server`,
/// and the lifecycle of the sockets behind them (register, connect or take a pooled upstream,
/// park, close, hand off). `SocketTransport` is the production one; a test drives the same
/// handler through in-memory peers, with the loop's `ManualClock` for time. The connection is
/// generic over it (specialised, so the socket path pays nothing for the seam).
protocol HTTP1Transport {
    associatedtype Peer: ConnectionPeer

    var client: Peer { get set }
    /// Not open (`isOpen` false) until `openUpstream` gives it a connection.
    var server: Peer { get set }

    /// Starts delivering the client's events to `handler`; false when it cannot (the client is
    /// then closed).
    mutating func start(handler: EventHandler) -> Bool
    /// Opens the upstream to the original destination.
    mutating func openUpstream(handler: EventHandler) -> UpstreamOpening
    /// Opens the upstream; `pooled` false: a new connection, never a pooled one (a spliced TLS
    /// connection must not land on an idle HTTP keep-alive connection).
    mutating func openUpstream(handler: EventHandler, pooled: Bool) -> UpstreamOpening
    /// After a pending connect reported writable: its errno, 0 when connected.
    mutating func connectError() -> Int32
    /// Keeps the idle upstream connection for reuse by another client connection.
    mutating func parkUpstream()
    mutating func closeUpstream()
    /// Closes the client's side; `reset`: with RST instead of FIN (a drop).
    mutating func closeClient(reset: Bool)
    /// Half-closes towards the client after the last answer.
    mutating func shutdownClientWrite()
    /// Gives the client (and `initial`, its bytes read but not consumed) to an HTTP/2 handler;
    /// the client is not closed.
    mutating func handOffToHTTP2(
        ctx: WorkerContext, addresses: ConnectionAddresses, steer: SteerInfo?,
        initial: UnsafeRawBufferPointer, upgrade: HTTP2Upgrade?)

    // Spliced bodies (docs/architecture.md "Bodies by splice"): body bytes from one peer's
    // socket into the connection's pipe and from the pipe into the other peer's socket, never
    // through user space. A transport whose bytes must pass user space (TLS, the tests' in-memory
    // peers unless they ask for it) keeps the defaults: no splicing.

    /// Whether bodies may be spliced at all on this transport.
    var splices: Bool { get }
    /// Bytes in the connection's pipe (0 without one).
    var piped: Int { get }
    /// Makes sure the connection holds a pipe for a body going `d` (from the worker's pool at
    /// first use; an empty pipe sized for the other direction is swapped there); false when none
    /// can be had: the body then takes the buffered path.
    mutating func preparePipe(for d: BodyDirection) -> Bool
    /// Up to `max` bytes from `side`'s socket into the pipe, which the caller has drained; the
    /// peer's readability is updated as a read would update it (only EAGAIN ends it).
    mutating func spliceIn(from side: PeerSide, max: Int) -> IOStep
    /// What the pipe holds into `side`'s socket; a short or blocked write ends its writability.
    /// `more`: body bytes follow these (SPLICE_F_MORE: full segments, the partial one held).
    mutating func spliceOut(to side: PeerSide, more: Bool) -> IOStep
    /// Gives the pipe back to the pool (closed when it still holds bytes).
    mutating func releasePipe()
}

/// No splicing unless a transport provides it.
extension HTTP1Transport {
    var splices: Bool { false }
    var piped: Int { 0 }
    mutating func preparePipe(for d: BodyDirection) -> Bool { false }
    mutating func spliceIn(from side: PeerSide, max: Int) -> IOStep { .blocked }
    mutating func spliceOut(to side: PeerSide, more: Bool) -> IOStep { .blocked }
    mutating func releasePipe() {}
}

extension HTTP1Transport {
    /// Transports without a pool (tests) open the same way either way.
    mutating func openUpstream(handler: EventHandler, pooled: Bool) -> UpstreamOpening {
        openUpstream(handler: handler)
    }
}

/// The outcome of `HTTP1Transport.openUpstream`.
enum UpstreamOpening: Equatable {
    /// A pooled connection: writable at once.
    case ready
    /// A connect in progress: the handler hears writable (then `connectError`) or times out.
    case pending
    /// The connect failed at once with this errno.
    case failed(Int32)
}

/// Tags of the two registrations of a connection on its loop.
enum HTTP1Tag {
    static let downstream: UInt32 = 0
    static let upstream: UInt32 = 1
}

/// The sockets of one HTTP/1 connection on its worker loop: epoll registrations, the worker's
/// upstream pool, SO_MARK on upstream sockets.
struct SocketTransport: HTTP1Transport {
    var client: SocketPeer
    var server = SocketPeer(fd: -1, side: .upstream)
    private let ctx: WorkerContext
    /// Destination and SO_MARK of this connection's upstream sockets: the client's identity rides
    /// along; pooled upstream connections are only reused with the same one.
    private let upstream: UpstreamTarget
    private var clientRegistration: EventLoop.Registration = .none
    private var serverRegistration: EventLoop.Registration = .none
    /// The pipe of spliced bodies, taken from the worker's pool at the first spliced body.
    private var pipe: SplicePipe?
    /// The direction `pipe` was taken for (its size, `SplicePipePool`).
    private var pipeFor = BodyDirection.response

    static let interest =
        EventLoop.Events.readable | EventLoop.Events.writable | EventLoop.Events.readHangup
        | EventLoop.Events.edgeTriggered

    init(ctx: WorkerContext, fd: Int32, addresses: ConnectionAddresses, steer: SteerInfo?) {
        self.ctx = ctx
        client = SocketPeer(fd: fd, side: .downstream, readable: true, writable: true)
        upstream = UpstreamTarget(addresses, steer: steer)
    }

    mutating func start(handler: EventHandler) -> Bool {
        do {
            clientRegistration = try ctx.loop.register(
                fd: client.fd, events: Self.interest, handler: handler,
                tag: HTTP1Tag.downstream)
            return true
        } catch {
            Socket.close(client.fd)
            return false
        }
    }

    mutating func openUpstream(handler: EventHandler) -> UpstreamOpening {
        openUpstream(handler: handler, pooled: true)
    }

    mutating func openUpstream(handler: EventHandler, pooled usePool: Bool) -> UpstreamOpening {
        if usePool,
            let pooled = ctx.upstreams.take(upstream, for: handler, tag: HTTP1Tag.upstream)
        {
            serverRegistration = pooled.registration
            server = SocketPeer(fd: pooled.fd, side: .upstream, readable: false, writable: true)
            return .ready
        }
        var fd: Int32 = -1
        do {
            fd = try upstream.connect()
            serverRegistration = try ctx.loop.register(
                fd: fd, events: Self.interest, handler: handler,
                tag: HTTP1Tag.upstream)
        } catch {
            if fd >= 0 { Socket.close(fd) }
            return .failed(error.errno)
        }
        server = SocketPeer(fd: fd, side: .upstream)
        return .pending
    }

    mutating func connectError() -> Int32 { Socket.pendingError(server.fd) }

    mutating func parkUpstream() {
        ctx.upstreams.park(fd: server.fd, registration: serverRegistration, target: upstream)
        server = SocketPeer(fd: -1, side: .upstream)
        serverRegistration = .none
    }

    mutating func closeUpstream() {
        // Bytes still piped belong to the exchange this close cuts short.
        if piped > 0 { releasePipe() }
        ctx.loop.forget(serverRegistration)
        Socket.close(server.fd)
        server = SocketPeer(fd: -1, side: .upstream)
        serverRegistration = .none
    }

    mutating func closeClient(reset: Bool) {
        ctx.loop.forget(clientRegistration)
        if reset {
            Socket.closeWithReset(client.fd)
        } else {
            Socket.close(client.fd)
        }
    }

    mutating func shutdownClientWrite() { Socket.shutdownWrite(client.fd) }

    var splices: Bool { ctx.pipes != nil }

    var piped: Int { pipe?.count ?? 0 }

    mutating func preparePipe(for d: BodyDirection) -> Bool {
        if let held = pipe, pipeFor == d || !held.isEmpty { return true }
        guard let pool = ctx.pipes else { return false }
        // Taken for the other direction: swapped while empty (it always is between bodies).
        if let held = pipe { pool.give(held) }
        pipe = pool.take(for: d)
        pipeFor = d
        return pipe != nil
    }

    @inline(__always)
    mutating func spliceIn(from side: PeerSide, max: Int) -> IOStep {
        guard pipe != nil else { return .blocked }
        return side == .upstream ? server.fill(&pipe!, max: max) : client.fill(&pipe!, max: max)
    }

    @inline(__always)
    mutating func spliceOut(to side: PeerSide, more: Bool) -> IOStep {
        guard pipe != nil else { return .blocked }
        return side == .upstream ? server.drain(&pipe!, more: more) : client.drain(&pipe!, more: more)
    }

    mutating func releasePipe() {
        guard let held = pipe else { return }
        pipe = nil
        ctx.pipes?.give(held)
    }

    mutating func handOffToHTTP2(
        ctx: WorkerContext, addresses: ConnectionAddresses, steer: SteerInfo?,
        initial: UnsafeRawBufferPointer, upgrade: HTTP2Upgrade?
    ) {
        ctx.loop.deregister(fd: client.fd, registration: clientRegistration)
        guard
            let h2 = HTTP2Connection(
                ctx: ctx, fd: client.fd, addresses: addresses, steer: steer,
                initial: initial, upgrade: upgrade)
        else {
            Socket.close(client.fd)
            return
        }
        h2.start()
    }
}
