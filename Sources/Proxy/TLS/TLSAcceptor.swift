import COpenSSL
import Glibc
import Policy
import SluiceIO

/// Phase before the request cycle of an intercepted connection (a port with `terminatingTLS`,
/// docs/architecture.md "TLS interception"): the server handshake with the secret's
/// certificate, non-blocking on the worker's loop and bounded by the request head timeout.
/// Then the SNI is judged by the port's `serverNames` (a mismatch: a DROPPED flow naming it and
/// a reset, as for SNI rules without termination) and the connection goes, TLS state and all,
/// to the handler of the protocol ALPN chose: `HTTP2Connection` for h2, else
/// `HTTP1Connection<TLSTransport>`; their flows say `https://`. A failed handshake (the client
/// does not trust the certificate, or speaks no TLS) is an ERROR flow naming EPROTO.
final class TLSAcceptor: EventHandler, TimerTarget {
    let ctx: WorkerContext
    let addresses: ConnectionAddresses
    let steer: SteerInfo?
    let interception: TLSInterception
    let direction: Direction
    private var peer: TLSPeer
    private var registration: EventLoop.Registration = .none
    private lazy var timer = LoopTimer(target: self)
    private var done = false

    /// The interception of the port a connection steered as `steer` reached (its egress side
    /// first, as requests are decided), nil when no side has one.
    static func interception(steer: SteerInfo?, snapshot: PolicySnapshot, port: UInt16) -> (
        TLSInterception, Direction
    )? {
        guard let steer else { return nil }
        if steer.sides.contains(.egress),
            let i = snapshot.httpPolicy(endpointID: steer.sourceEndpoint, direction: .egress, port: port)?.interception
        {
            return (i, .egress)
        }
        if steer.sides.contains(.ingress),
            let i = snapshot.httpPolicy(endpointID: steer.destinationEndpoint, direction: .ingress, port: port)?
                .interception
        {
            return (i, .ingress)
        }
        return nil
    }

    /// Starts the connection on `fd` when its port is intercepted; false when it is not (the
    /// caller starts a plain HTTP connection).
    static func startIfIntercepted(ctx: WorkerContext, fd: Int32, addresses: ConnectionAddresses, steer: SteerInfo?)
        -> Bool
    {
        guard
            let (interception, direction) = interception(
                steer: steer, snapshot: ctx.snapshot, port: addresses.originalDestinationPort)
        else { return false }
        guard let terminating = interception.terminating else {
            // originatingTLS alone: plain HTTP from the client, TLS to the upstream.
            let origination = interception.originating.map {
                TLSOrigination(context: $0, serverName: nil, addresses: addresses)
            }
            let transport = TLSTransport(
                ctx: ctx, fd: fd, ssl: nil, addresses: addresses, steer: steer, origination: origination)
            HTTP1Connection(ctx: ctx, transport: transport, addresses: addresses, steer: steer).start()
            return true
        }
        let recorder = TLSFlowRecorder(flows: ctx.flows, addresses: addresses, steer: steer)
        guard case .success(let serverContext) = ctx.tlsContexts.serverContext(terminating, now: ctx.loop.now),
            let ssl = SSL_new(serverContext)
        else {
            // The secret went away after the policy was applied: nothing to present.
            recorder.failed(PeerClose(side: .downstream, errno: ENOENT), serverName: nil)
            Socket.closeWithReset(fd)
            return true
        }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        TLSAcceptor(
            ctx: ctx, fd: fd, ssl: ssl, addresses: addresses, steer: steer, interception: interception,
            direction: direction
        ).start()
        return true
    }

    private init(
        ctx: WorkerContext, fd: Int32, ssl: OpaquePointer, addresses: ConnectionAddresses, steer: SteerInfo?,
        interception: TLSInterception, direction: Direction
    ) {
        self.ctx = ctx
        self.addresses = addresses
        self.steer = steer
        self.interception = interception
        self.direction = direction
        peer = TLSPeer(fd: fd, side: .downstream, ssl: ssl, readable: true, writable: true)
    }

    private func start() {
        do {
            registration = try ctx.loop.register(
                fd: peer.fd, events: SocketTransport.interest, handler: self, tag: HTTP1Tag.downstream)
        } catch {
            peer.shutdown(reset: true)
            Socket.close(peer.fd)
            return
        }
        ctx.connectionCount += 1
        if ctx.config.requestHeadTimeoutNs > 0 {
            ctx.loop.schedule(timer, at: ctx.loop.now + ctx.config.requestHeadTimeoutNs)
        }
        step()
    }

    func handleEvents(_ events: UInt32, tag: UInt32) {
        if events
            & (EventLoop.Events.readable | EventLoop.Events.hangup | EventLoop.Events.error
                | EventLoop.Events.readHangup) != 0
        {
            peer.readable = true
        }
        if events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 {
            peer.writable = true
        }
        step()
    }

    func timerFired(now: UInt64) {
        guard !done else { return }
        fail(PeerClose(side: .downstream, errno: ETIMEDOUT))
    }

    private func step() {
        guard !done, peer.readable || peer.writable else { return }
        switch peer.handshake() {
        case .progress:
            finished()
        case .blocked:
            return
        case .closed(let failure):
            fail(failure)
        }
    }

    private var serverName: String? {
        guard let ssl = peer.ssl, let name = sluice_SSL_get_servername(ssl) else { return nil }
        return String(cString: name)
    }

    /// The negotiated ALPN protocol ("" when none).
    private var alpn: String {
        guard let ssl = peer.ssl else { return "" }
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    private func finished() {
        let name = serverName
        guard interception.allows(serverName: name) else {
            var verdict = HTTPVerdict()
            let side = HTTPVerdict.Side(allowed: false, reason: .noRuleMatched, policyName: nil, policyRef: 0)
            if direction == .egress { verdict.egress = side } else { verdict.ingress = side }
            TLSFlowRecorder(flows: ctx.flows, addresses: addresses, steer: steer).decided(verdict, serverName: name)
            end(reset: true)
            return
        }
        let h2 = alpn == "h2"
        done = true
        ctx.loop.cancel(timer)
        ctx.loop.deregister(fd: peer.fd, registration: registration)
        ctx.connectionCount -= 1
        let origination = interception.originating.map {
            TLSOrigination(context: $0, serverName: name, addresses: addresses)
        }
        if h2 {
            guard
                let connection = HTTP2Connection(
                    ctx: ctx, fd: peer.fd, addresses: addresses, steer: steer,
                    initial: UnsafeRawBufferPointer(start: nil, count: 0), upgrade: nil, tls: peer.ssl,
                    origination: origination)
            else {
                peer.shutdown(reset: true)
                Socket.closeWithReset(peer.fd)
                return
            }
            connection.start()
            return
        }
        let transport = TLSTransport(
            ctx: ctx, fd: peer.fd, ssl: peer.ssl, addresses: addresses, steer: steer, origination: origination)
        let connection = HTTP1Connection(ctx: ctx, transport: transport, addresses: addresses, steer: steer)
        connection.record.scheme = "https"
        connection.start()
    }

    /// The handshake failed or timed out: an ERROR flow naming the client's failure, a reset.
    private func fail(_ failure: PeerClose) {
        TLSFlowRecorder(flows: ctx.flows, addresses: addresses, steer: steer).failed(failure, serverName: serverName)
        end(reset: true)
    }

    private func end(reset: Bool) {
        guard !done else { return }
        done = true
        ctx.loop.cancel(timer)
        peer.shutdown(reset: reset)
        ctx.loop.forget(registration)
        if reset { Socket.closeWithReset(peer.fd) } else { Socket.close(peer.fd) }
        ctx.connectionCount -= 1
    }
}
