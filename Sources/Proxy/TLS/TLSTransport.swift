import COpenSSL
import Glibc
import Policy
import SluiceIO

/// The transport of an intercepted HTTP/1 connection (docs/architecture.md "TLS interception"):
/// `HTTP1Connection<TLSTransport>` runs the same request cycle as on plain sockets, reading and
/// writing plaintext through `TLSPeer`s. The client side carries the terminated TLS (handshake
/// done by `TLSAcceptor`; nil without `terminatingTLS`); with `originatingTLS` the upstream is a
/// new TLS connection that trusts only the secret's CA, sends the client's SNI and verifies the
/// certificate's name against it, resuming the last session with that upstream. Sockets,
/// registrations and the pool are `SocketTransport`'s; TLS upstream connections are never pooled.
struct TLSTransport: HTTP1Transport {
    var client: TLSPeer
    var server = TLSPeer(fd: -1, side: .upstream, ssl: nil)
    private var sockets: SocketTransport
    private let ctx: WorkerContext
    private let origination: TLSOrigination?

    init(
        ctx: WorkerContext, fd: Int32, ssl: OpaquePointer?, addresses: ConnectionAddresses, steer: SteerInfo?,
        origination: TLSOrigination?
    ) {
        self.ctx = ctx
        sockets = SocketTransport(ctx: ctx, fd: fd, addresses: addresses, steer: steer)
        client = TLSPeer(fd: fd, side: .downstream, ssl: ssl, readable: true, writable: true)
        self.origination = origination
    }

    mutating func start(handler: EventHandler) -> Bool {
        guard sockets.start(handler: handler) else {
            client.shutdown(reset: true)
            return false
        }
        return true
    }

    mutating func openUpstream(handler: EventHandler) -> UpstreamOpening {
        openUpstream(handler: handler, pooled: true)
    }

    mutating func openUpstream(handler: EventHandler, pooled: Bool) -> UpstreamOpening {
        guard let origination else {
            let opening = sockets.openUpstream(handler: handler, pooled: pooled)
            server = TLSPeer(
                fd: sockets.server.fd, side: .upstream, ssl: nil, readable: sockets.server.readable,
                writable: sockets.server.writable)
            return opening
        }
        let opening = sockets.openUpstream(handler: handler, pooled: false)
        if case .failed = opening { return opening }
        switch origination.makeSSL(fd: sockets.server.fd, store: ctx.tlsContexts, now: ctx.loop.now, alpn: "http/1.1") {
        case .success(let ssl):
            server = TLSPeer(fd: sockets.server.fd, side: .upstream, ssl: ssl, readable: false, writable: false)
            return opening
        case .failure(let failure):
            sockets.closeUpstream()
            return .failed(failure.errno)
        }
    }

    mutating func connectError() -> Int32 { sockets.connectError() }

    mutating func parkUpstream() {
        if server.ssl != nil {
            closeUpstream()
            return
        }
        sockets.parkUpstream()
        server = TLSPeer(fd: -1, side: .upstream, ssl: nil)
    }

    mutating func closeUpstream() {
        if let ssl = server.ssl { origination?.saveSession(of: ssl, store: ctx.tlsContexts) }
        server.shutdown(reset: false)
        sockets.closeUpstream()
        server = TLSPeer(fd: -1, side: .upstream, ssl: nil)
    }

    mutating func closeClient(reset: Bool) {
        client.shutdown(reset: reset)
        sockets.closeClient(reset: reset)
    }

    mutating func shutdownClientWrite() {
        if let ssl = client.ssl, SSL_is_init_finished(ssl) == 1 { _ = SSL_shutdown(ssl) }
        sockets.shutdownClientWrite()
    }

    /// An HTTP/2 preface inside TLS negotiated as http/1.1 (h2 goes by ALPN, `TLSAcceptor`):
    /// not served; the client is closed.
    mutating func handOffToHTTP2(
        ctx: WorkerContext, addresses: ConnectionAddresses, steer: SteerInfo?,
        initial: UnsafeRawBufferPointer, upgrade: HTTP2Upgrade?
    ) {
        if client.ssl == nil {
            sockets.handOffToHTTP2(ctx: ctx, addresses: addresses, steer: steer, initial: initial, upgrade: upgrade)
            return
        }
        closeClient(reset: true)
    }
}
