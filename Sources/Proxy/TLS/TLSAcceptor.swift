import COpenSSL
import Glibc
import Policy
import SluiceIO
import TLSClientHello

/// Phase before the request cycle of an intercepted connection (a port with `terminatingTLS`,
/// docs/architecture.md "TLS interception"). First the client's ClientHello is read without
/// consuming it (MSG_PEEK, `ClientHelloParser`): its SNI picks the certificate (the first rule
/// on the port whose `serverNames` match, `TLSInterception.terminating(for:)`), and when it
/// offers h2 on a port with `originatingTLS` the upstream's protocol decides what ALPN selects:
/// h2 only when the upstream selected h2 itself (learned by a `TLSALPNProbe`, then remembered by
/// the worker's store), else http/1.1, so an h2 client reaches an HTTP/1.1-only upstream over
/// HTTP/1.1; on a port without `originatingTLS` (h2 goes upstream as h2c with prior knowledge)
/// h2 only when the plain upstream answered the HTTP/2 preface with SETTINGS (an `H2CProbe`,
/// remembered the same way). A client that offers only h2 to an upstream that speaks HTTP/1.1
/// only is refused with the no_application_protocol alert and an ERROR flow (downstream
/// ENOPROTOOPT; `selectALPN`). A client that closes before its ClientHello is complete, or
/// sends bytes that are no ClientHello, gets an ERROR flow (downstream EOF or EPROTO) and a
/// reset.
/// Then the server handshake runs non-blocking on the worker's loop, all of it bounded by the
/// request head timeout. Then the SNI is judged by the port's `serverNames` (a mismatch: a
/// DROPPED flow naming it and a reset, as for SNI rules without termination) and the
/// connection goes, TLS state and all, to the handler of the protocol ALPN chose:
/// `HTTP2Connection` for h2, else `HTTP1Connection<TLSTransport>`; their flows say `https://`.
/// A failed handshake (the client does not trust the certificate) is an ERROR flow naming
/// EPROTO.
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
    private enum Phase { case hello, probing, handshake }
    private var phase = Phase.hello
    /// The client's read side ended (EPOLLRDHUP or HUP seen).
    private var clientEnded = false
    /// The ClientHello's SNI (for flows before the handshake has one).
    private var helloServerName: String?
    /// The upstream's protocol being learned (`TLSALPNProbe` or `H2CProbe`).
    private var probe: UpstreamALPNProbe?
    /// The client's ALPN offer names http/1.1 (read when it offers h2).
    private var offersHTTP1 = false

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
        guard interception.terminating != nil else {
            // originatingTLS alone: plain HTTP from the client, TLS to the upstream.
            let origination = interception.originating.map {
                TLSOrigination(context: $0, serverName: nil, addresses: addresses)
            }
            let transport = TLSTransport(
                ctx: ctx, fd: fd, ssl: nil, addresses: addresses, steer: steer, origination: origination)
            HTTP1Connection(ctx: ctx, transport: transport, addresses: addresses, steer: steer).start()
            return true
        }
        TLSAcceptor(
            ctx: ctx, fd: fd, addresses: addresses, steer: steer, interception: interception, direction: direction
        ).start()
        return true
    }

    private init(
        ctx: WorkerContext, fd: Int32, addresses: ConnectionAddresses, steer: SteerInfo?,
        interception: TLSInterception, direction: Direction
    ) {
        self.ctx = ctx
        self.addresses = addresses
        self.steer = steer
        self.interception = interception
        self.direction = direction
        peer = TLSPeer(fd: fd, side: .downstream, ssl: nil, readable: true, writable: true)
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
        if events & (EventLoop.Events.readHangup | EventLoop.Events.hangup | EventLoop.Events.error) != 0 {
            clientEnded = true
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
        guard !done else { return }
        switch phase {
        case .hello: readHello()
        case .probing: return
        case .handshake: handshake()
        }
    }

    /// Peeks at the client's first flight until its ClientHello is complete.
    private func readHello() {
        guard peer.readable else { return }
        let buffer = ctx.tlsContexts.helloBuffer
        let n = recv(peer.fd, buffer.baseAddress, buffer.count, Int32(MSG_PEEK))
        if n < 0 {
            let error = errno
            if error == EAGAIN || error == EINTR {
                peer.readable = false
                return
            }
            return fail(PeerClose(side: .downstream, errno: error))
        }
        // Closed before a ClientHello began: a downstream EOF.
        if n == 0 { return fail(PeerClose(side: .downstream, errno: 0)) }
        switch ClientHelloParser.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) {
        case .needMore:
            // The rest comes with the next readable edge, unless the client closed mid-hello or
            // the hello is longer than the parser accepts.
            if clientEnded { return fail(PeerClose(side: .downstream, errno: 0)) }
            if n == buffer.count { return fail(PeerClose(side: .downstream, errno: EPROTO)) }
            peer.readable = false
        case .notTLS, .malformed:
            fail(PeerClose(side: .downstream, errno: EPROTO))
        case .parsed(let hello):
            helloParsed(hello)
        }
    }

    /// Picks the certificate by SNI and, for an h2 offer toward a TLS upstream, what ALPN may
    /// select (probing the upstream when it is not known).
    private func helloParsed(_ hello: ClientHello) {
        helloServerName = hello.serverName
        guard let terminating = interception.terminating(for: hello.serverName),
            case .success(let serverContext) = ctx.tlsContexts.serverContext(terminating, now: ctx.loop.now)
        else {
            // The secret is not there (never was, or went away before it was first used).
            return fail(PeerClose(side: .downstream, errno: ENOENT))
        }
        guard let ssl = SSL_new(serverContext) else { return fail(PeerClose(side: .downstream, errno: ENOMEM)) }
        SSL_set_fd(ssl, peer.fd)
        SSL_set_accept_state(ssl)
        peer = TLSPeer(fd: peer.fd, side: .downstream, ssl: ssl, readable: true, writable: true)
        phase = .handshake
        if hello.alpnProtocols.contains("h2"), interception.allows(serverName: hello.serverName) {
            offersHTTP1 = hello.alpnProtocols.contains("http/1.1")
            // With originatingTLS the upstream's own ALPN answer counts; without it (TLS in,
            // plain HTTP out) h2 is relayed as h2c with prior knowledge, so h2 only for an
            // upstream that answers the HTTP/2 preface.
            let origination = interception.originating.map {
                TLSOrigination(context: $0, serverName: hello.serverName, addresses: addresses)
            }
            let key =
                origination?.sessionKey
                ?? H2CProbe.key(address: addresses.originalDestinationAddress, port: addresses.originalDestinationPort)
            if let known = ctx.tlsContexts.upstreamSpeaksH2(key, now: ctx.loop.now) {
                selectALPN(upstreamH2: known)
            } else if let started = startProbe(origination) {
                probe = started
                phase = .probing
                return
            } else {
                selectALPN(upstreamH2: nil)
            }
        }
        handshake()
    }

    /// Starts learning what the upstream speaks: a `TLSALPNProbe` with `origination`, else an
    /// `H2CProbe`; nil when none could start.
    private func startProbe(_ origination: TLSOrigination?) -> UpstreamALPNProbe? {
        let upstream = UpstreamTarget(addresses, steer: steer)
        let finished: (Bool?) -> Void = { [unowned self] h2 in probed(h2: h2) }
        guard let origination else {
            return H2CProbe.start(loop: ctx.loop, store: ctx.tlsContexts, upstream: upstream, finished: finished)
        }
        return TLSALPNProbe.start(
            loop: ctx.loop, store: ctx.tlsContexts, origination: origination, upstream: upstream,
            timeoutNs: ctx.config.connectTimeoutNs, finished: finished)
    }

    /// The probe answered (nil: no answer, the upstream cannot be reached).
    private func probed(h2: Bool?) {
        probe = nil
        guard !done else { return }
        selectALPN(upstreamH2: h2)
        phase = .handshake
        peer.readable = true
        peer.writable = true
        handshake()
    }

    /// What ALPN may select for a client offering h2, once the upstream's protocol is known: h2
    /// for an upstream that speaks it; http/1.1 for one that speaks HTTP/1.1 only, and a client
    /// that offers only h2 is refused with the no_application_protocol alert (an ERROR flow,
    /// downstream ENOPROTOOPT); for an upstream that did not answer (nil), http/1.1 when the
    /// client offers it, else h2, whose streams then report the upstream's failure (503).
    private func selectALPN(upstreamH2 h2: Bool?) {
        guard h2 == false || (h2 == nil && offersHTTP1), let ssl = peer.ssl else { return }
        sluice_SSL_select_http1_only(ssl)
    }

    private func handshake() {
        guard peer.readable || peer.writable else { return }
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
            let side = HTTPVerdict.Side(allowed: false, reason: .noRuleMatched, policyRef: 0)
            if direction == .egress { verdict.egress = side } else { verdict.ingress = side }
            TLSFlowRecorder(flows: ctx.flows, recording: ctx.recording, addresses: addresses, steer: steer)
                .decided(verdict, serverName: name)
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
        TLSFlowRecorder(flows: ctx.flows, recording: ctx.recording, addresses: addresses, steer: steer).failed(
            failure, serverName: serverName ?? helloServerName)
        end(reset: true)
    }

    private func end(reset: Bool) {
        guard !done else { return }
        done = true
        ctx.loop.cancel(timer)
        probe?.cancel()
        probe = nil
        peer.shutdown(reset: reset)
        ctx.loop.forget(registration)
        if reset { Socket.closeWithReset(peer.fd) } else { Socket.close(peer.fd) }
        ctx.connectionCount -= 1
    }
}
