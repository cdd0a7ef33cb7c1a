import Glibc
import SluiceIO

/// One socket of an HTTP/2 connection as its handler sees it (the client's, or an upstream's):
/// read and write steps with the remembered edge-triggered readiness, the connect's outcome, and
/// close. `SocketHTTP2Link` is the production one (plaintext or TLS); a unit test drives the same
/// handlers through in-memory links, as HTTP1Connection is driven through its `HTTP1Transport`.
protocol HTTP2Link: AnyObject {
    var readable: Bool { get set }
    var writable: Bool { get set }
    /// The peer's TLS was terminated (client) or originated (upstream) here.
    var isTLS: Bool { get }
    func read(into buffer: IOBuffer) -> IOStep
    func write(_ bytes: UnsafeRawBufferPointer) -> IOStep
    /// After a pending connect reported writable: its errno, 0 when connected.
    func connectError() -> Int32
    /// Deregisters and closes; `reset`: with RST instead of FIN. Idempotent.
    func close(reset: Bool)
    /// Ends what this side sends (TLS close_notify, then FIN); reading goes on.
    func shutdownWrite()
}

/// Where an `HTTP2Connection` gets its two kinds of link: the client's, registered with the
/// connection's handler, and one per upstream connection it opens to the original destination.
protocol HTTP2Transport: AnyObject {
    /// The client's link, its events going to `handler`; nil when it cannot be registered (the
    /// client is then closed).
    func client(handler: EventHandler) -> HTTP2Link?
    /// Starts a connection to the original destination, its events going to `handler`; the link
    /// is writable once connected (then `connectError` says how).
    func openUpstream(handler: EventHandler) throws(SyscallError) -> HTTP2Link
}

/// A socket on the worker loop, through its `TLSPeer` (plaintext when it holds no SSL): the
/// registration is dropped and the TLS session saved for resumption on close.
final class SocketHTTP2Link: HTTP2Link {
    private var peer: TLSPeer
    private let loop: EventLoop
    private var registration: EventLoop.Registration
    /// For an originated TLS session: where it is saved on close (resumption).
    private let origination: TLSOrigination?
    private let tlsContexts: TLSContextStore?

    init(
        peer: TLSPeer, loop: EventLoop, registration: EventLoop.Registration, origination: TLSOrigination? = nil,
        tlsContexts: TLSContextStore? = nil
    ) {
        self.peer = peer
        self.loop = loop
        self.registration = registration
        self.origination = origination
        self.tlsContexts = tlsContexts
    }

    var readable: Bool {
        get { peer.readable }
        set { peer.readable = newValue }
    }
    var writable: Bool {
        get { peer.writable }
        set { peer.writable = newValue }
    }
    var isTLS: Bool { peer.ssl != nil }

    func read(into buffer: IOBuffer) -> IOStep { peer.read(into: buffer) }
    func write(_ bytes: UnsafeRawBufferPointer) -> IOStep { peer.write(bytes) }
    func connectError() -> Int32 { Socket.pendingError(peer.fd) }

    func close(reset: Bool) {
        guard peer.isOpen else { return }
        loop.deregister(fd: peer.fd, registration: registration)
        if let ssl = peer.ssl, let origination, let tlsContexts, !reset {
            origination.saveSession(of: ssl, store: tlsContexts)
        }
        peer.shutdown(reset: reset)
        if reset { Socket.closeWithReset(peer.fd) } else { Socket.close(peer.fd) }
        peer.fd = -1
    }

    func shutdownWrite() {
        guard peer.isOpen else { return }
        peer.shutdown(reset: false)
        Socket.shutdownWrite(peer.fd)
    }

    static let interest =
        EventLoop.Events.readable | EventLoop.Events.writable | EventLoop.Events.readHangup
        | EventLoop.Events.edgeTriggered
}

/// The sockets of one HTTP/2 connection on its worker loop: the client's descriptor (TLS
/// terminated, or not), and upstream connects with the client's SO_MARK, TLS toward the upstream
/// with `origination` (ALPN h2).
final class SocketHTTP2Transport: HTTP2Transport {
    private let ctx: WorkerContext
    private let fd: Int32
    private let tls: OpaquePointer?
    /// Marked with the client's identity: the datapath does not steer the upstream connection back
    /// and decides the destination's policy with that identity.
    private let upstream: UpstreamTarget
    private let origination: TLSOrigination?

    init(
        ctx: WorkerContext, fd: Int32, tls: OpaquePointer?, addresses: ConnectionAddresses, steer: SteerInfo?,
        origination: TLSOrigination?
    ) {
        self.ctx = ctx
        self.fd = fd
        self.tls = tls
        upstream = UpstreamTarget(addresses, steer: steer)
        self.origination = origination
    }

    func client(handler: EventHandler) -> HTTP2Link? {
        var peer = TLSPeer(fd: fd, side: .downstream, ssl: tls, readable: true, writable: true)
        do {
            let registration = try ctx.loop.register(
                fd: fd, events: SocketHTTP2Link.interest, handler: handler, tag: 0)
            return SocketHTTP2Link(peer: peer, loop: ctx.loop, registration: registration)
        } catch {
            peer.shutdown(reset: true)
            Socket.close(fd)
            return nil
        }
    }

    func openUpstream(handler: EventHandler) throws(SyscallError) -> HTTP2Link {
        let fd = try upstream.connect()
        var peer = TLSPeer(fd: fd, side: .upstream, ssl: nil)
        let store = origination.map { _ in ctx.tlsContexts }
        if let origination, let store {
            switch origination.makeSSL(fd: fd, store: store, now: ctx.loop.now, alpn: "h2") {
            case .success(let ssl): peer = TLSPeer(fd: fd, side: .upstream, ssl: ssl)
            case .failure(let error):
                Socket.close(fd)
                throw error
            }
        }
        do {
            let registration = try ctx.loop.register(
                fd: fd, events: SocketHTTP2Link.interest, handler: handler, tag: 0)
            return SocketHTTP2Link(
                peer: peer, loop: ctx.loop, registration: registration, origination: origination,
                tlsContexts: store)
        } catch {
            peer.shutdown(reset: true)
            Socket.close(fd)
            throw error
        }
    }
}
