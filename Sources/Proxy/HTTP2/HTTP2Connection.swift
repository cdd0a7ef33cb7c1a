import Flows
import Glibc
import HTTP2
import Policy
import SluiceIO

/// One downstream HTTP/2 connection (prior knowledge or h2c upgrade) and the upstream HTTP/2
/// connection its allowed streams travel on, on one worker loop.
///
/// Phases of each stream, in this order (docs/architecture.md): accept and original destination
/// (the listener) → read (bytes into the server session) → parse (nghttp2: HPACK, framing) →
/// decide (Policy, per stream, on `:method`, `:path`, `:authority` and headers) → act (forward on
/// the upstream session, or 403 / gRPC trailers-only, 431, 503) → relay (DATA both ways, credit
/// returned only when bytes were handed on: HTTP/2 flow control is the backpressure) → record
/// (request and response flow per stream). A flood (HTTP2FloodGuard) or a protocol error ends
/// the connection with GOAWAY; other connections are not touched.
///
/// One file per job: this one reads and writes the client's link and drives both connections;
/// `+ClientEvents` hands the client's stream events on, `+Decide` decides and acts per stream,
/// `+UpstreamEvents` relays what the upstream sessions report; `HTTP2Upstream` owns an upstream
/// link, `HTTP2Output` is the write step both share. The sockets are behind `HTTP2Transport`
/// (`SocketHTTP2Transport` in production), so a unit test drives the handler with in-memory links.
///
/// Owned by its loop: created, driven and closed on the loop thread.
final class HTTP2Connection: EventHandler, TimerTarget {
    /// One downstream stream and where it went, with the body bytes queued toward each side:
    /// their flow-control credit is returned when they leave, or at once when they are dropped
    /// (a reset), so neither connection's window leaks.
    final class Stream {
        let id: Int32
        /// Kept after the upstream stream closed (credit for response bytes still queued).
        var upstream: HTTP2Upstream?
        var upstreamID: Int32 = 0
        var upstreamOpen = false
        var clientOpen = true
        var isGRPC = false
        /// A HEAD request: a local answer carries its headers only (RFC 9110 9.3.2).
        var isHEAD = false
        /// The request head, kept while the request can be replayed on another upstream stream
        /// (no body byte forwarded, no response yet): REFUSED_STREAM, e.g. for streams a GOAWAY
        /// left unprocessed, is safe to retry (RFC 9113 8.7).
        var replay: HTTP2HeaderBlock?
        var requestEnded = false
        var attempts = 0
        var responseStarted = false
        /// The response status once known (relayed or local), for a failure's flow record.
        var status: UInt16 = 0
        /// A connection failure was written into its record.
        var failed = false
        /// Request body bytes queued on the upstream stream, not yet sent.
        var toUpstreamQueued = 0
        /// Response body bytes queued on the client stream, not yet sent.
        var toClientQueued = 0
        /// Body bytes sent so far on each side (the stall detector's minimum progress rate).
        var sentToUpstream = 0
        var sentToClient = 0
        /// h2c-upgrade body bytes (HTTP/1 framing, no credit to return) among `toUpstreamQueued`.
        var uncredited = 0
        /// The stream's request and response flows.
        let record: HTTPFlowRecorder
        init(id: Int32, record: HTTPFlowRecorder) {
            self.id = id
            self.record = record
        }

        /// The upstream stream, while body bytes may still be sent on it.
        var forwarding: HTTP2Upstream? {
            guard upstreamOpen, let up = upstream, !up.isClosed else { return nil }
            return up
        }
    }

    let ctx: WorkerContext
    let addresses: ConnectionAddresses
    let steer: SteerInfo?
    /// The client's sockets and the upstreams' (`SocketHTTP2Transport`, or a test's).
    let transport: HTTP2Transport
    /// The client's link and its remembered readiness (nil until `start` registered it).
    /// With TLS terminated (`TLSAcceptor`, ALPN h2), it holds the TLS state.
    private var client: HTTP2Link!
    private let input: IOBuffer
    private let output: IOBuffer
    let session: HTTP2Session
    var streams: [Int32: Stream] = [:]
    /// The port policies that decide this connection's streams, found once per snapshot.
    var deciders = HTTPPortDeciders()
    var upstream: HTTP2Upstream?
    var upstreams: [HTTP2Upstream] = []
    private(set) var isClosed = false
    var draining = false
    /// After the session's end (the GOAWAY of a connection the client broke), while the client
    /// may still be sending: the write side is shut and what arrives is read and dropped until the client's FIN or
    /// `lingerNs` (lingering close, as HTTP/1's `endWithoutKeepAlive`): closing with unread bytes
    /// sends an RST, which throws away a GOAWAY still in the send queue (a client that does not
    /// read) or in the client's receive queue.
    private(set) var lingering = false
    private lazy var lingerTimer = LoopTimer(target: self)
    static let lingerNs: UInt64 = 2_000_000_000
    private var upgrade: HTTP2Upgrade?
    /// Body bytes of an h2c-upgraded request still to come in HTTP/1 form (stream 1's DATA).
    var upgradeBodyRemaining = 0
    let common: FlowCommon
    /// The client's TLS was terminated here: stream flows say `https://`.
    private(set) var isTLS = false
    private var driving = false
    /// Streams whose body waits on a peer that takes none of it (HTTP2StreamStall).
    lazy var stall = HTTP2StreamStall(
        loop: ctx.loop, timeoutNs: ctx.config.http2Limits.streamStallTimeoutNs,
        minProgressBytes: ctx.config.http2Limits.streamMinProgressBytes
    ) { [unowned self] in self.scanStalls() }

    static let outputHighWater = 64 * 1024
    /// RFC 9113 7: ENHANCE_YOUR_CALM, PROTOCOL_ERROR, CANCEL, INTERNAL_ERROR.
    static let enhanceYourCalm: UInt32 = 0xb
    static let protocolError: UInt32 = 0x1
    static let cancel: UInt32 = 0x8
    static let internalError: UInt32 = 0x2

    /// The connection on the client socket `fd` (`tls`: its terminated TLS; `origination`: TLS
    /// toward the upstreams, `originatingTLS`).
    /// `initial`: bytes already read from the socket (the preface, or what followed an upgrade
    /// request's head); `upgrade`: the HTTP/1.1 request that asked for h2c, if any.
    convenience init?(
        ctx: WorkerContext, fd: Int32, addresses: ConnectionAddresses, steer: SteerInfo?,
        initial: UnsafeRawBufferPointer, upgrade: HTTP2Upgrade?, tls: OpaquePointer? = nil,
        origination: TLSOrigination? = nil
    ) {
        let transport = SocketHTTP2Transport(
            ctx: ctx, fd: fd, tls: tls, addresses: addresses, steer: steer, origination: origination)
        self.init(
            ctx: ctx, transport: transport, addresses: addresses, steer: steer, initial: initial, upgrade: upgrade)
    }

    /// The connection on `transport`'s client link (registered by `start`).
    init?(
        ctx: WorkerContext, transport: HTTP2Transport, addresses: ConnectionAddresses, steer: SteerInfo?,
        initial: UnsafeRawBufferPointer, upgrade: HTTP2Upgrade?
    ) {
        guard
            let session = try? HTTP2Session(
                role: .server, limits: ctx.config.http2Limits,
                clock: SystemClock(.coarseMonotonic))
        else { return nil }
        self.ctx = ctx
        self.transport = transport
        self.addresses = addresses
        self.steer = steer
        self.session = session
        self.upgrade = upgrade
        input = IOBuffer(capacity: ctx.config.bufferBytes, limit: max(ctx.config.bufferBytes, initial.count))
        output = IOBuffer(capacity: ctx.config.bufferBytes, limit: 4 * 1024 * 1024)
        common = HTTPFlowRecorder.common(addresses: addresses, steer: steer)
        input.append(initial)
    }

    deinit { assert(isClosed, "HTTP2Connection dropped while open") }

    /// Registers the socket, answers an upgrade with 101, and processes what already arrived.
    func start() {
        guard let link = transport.client(handler: self) else {
            isClosed = true
            return
        }
        client = link
        isTLS = link.isTLS
        ctx.connectionCount += 1
        if let up = upgrade {
            upgrade = nil
            HTTP2Upgrade.switching.withUnsafeBytes { _ = output.append($0) }
            do {
                try session.upgrade(settings: up.settings, headRequest: up.isHEAD)
            } catch {
                close()
                return
            }
            upgradeBodyRemaining = up.bodyLength
            onRequest(stream: 1, block: up.block, endStream: up.bodyLength == 0)
        }
        drive()
    }

    func handleEvents(_ events: UInt32, tag: UInt32) {
        if HTTP2Output.readable(events) { client.readable = true }
        if events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 {
            client.writable = true
        }
        if lingering {
            linger()
            return
        }
        drive()
    }

    // MARK: the driver

    /// Makes every step that can be made now, on both connections. Re-entrant calls (from an
    /// upstream's handler inside a step) fold into the running loop.
    func drive() {
        guard !driving else { return }
        driving = true
        defer { driving = false }
        var progress = true
        while progress && !isClosed {
            progress = false
            if !input.isEmpty
                || (client.readable && output.readableCount < Self.outputHighWater && !draining
                    && !upgradeBodyBlocked)
            {
                progress = readClient() || progress
            }
            for up in upstreams where !up.isClosed {
                progress = up.pump() || progress
            }
            if isClosed { return }
            progress = flushClient() || progress
        }
        if !isClosed && !lingering && !session.isAlive && output.isEmpty { endSession() }
    }

    /// The session is over and its last frames are written: close, or linger when the client
    /// may have sent bytes not read (the last read did not drain the socket, as after a GOAWAY
    /// for a broken client, whose bytes are no longer read).
    private func endSession() {
        guard client.readable else {
            close()
            return
        }
        client.shutdownWrite()
        lingering = true
        input.clear()
        ctx.loop.schedule(lingerTimer, at: ctx.loop.now + Self.lingerNs)
        linger()
    }

    /// Reads and drops the client's bytes while lingering; closes at its FIN or a read error.
    private func linger() {
        reading: while !isClosed && client.readable {
            input.clear()
            switch client.read(into: input) {
            case .progress: continue
            case .blocked: break reading
            case .closed: close()
            }
        }
        input.clear()
    }

    func timerFired(now: UInt64) { close() }

    /// An h2c-upgraded request's body has no HTTP/2 flow control (it arrives in HTTP/1 form):
    /// reading stops while a stream window's worth of it waits for the upstream.
    private var upgradeBodyBlocked: Bool {
        guard upgradeBodyRemaining > 0, let s = streams[1] else { return false }
        return s.toUpstreamQueued >= Int(ctx.config.http2Limits.initialStreamWindow)
    }

    /// Reads from the client and feeds the server session (upgrade body bytes first).
    private func readClient() -> Bool {
        if input.isEmpty {
            switch client.read(into: input) {
            case .progress: break
            case .blocked: return false
            case .closed(let failure):
                clientFailed(failure)
                return false
            }
        }
        if upgradeBodyRemaining > 0 {
            let n = min(upgradeBodyRemaining, input.readableCount)
            if let s = streams[1], let up = s.forwarding,
                up.session.append(stream: s.upstreamID, Array(UnsafeRawBufferPointer(rebasing: input.readable[..<n])))
            {
                s.toUpstreamQueued += n
                s.uncredited += n
                s.replay = nil
                if n == upgradeBodyRemaining { up.session.end(stream: s.upstreamID) }
            }
            input.consume(n)
            upgradeBodyRemaining -= n
            if input.isEmpty { return true }
        }
        do {
            try session.receive(input.readable)
            input.clear()
        } catch {
            // nghttp2 gave up on the peer (bad preface, connection error, its own flood limits):
            // GOAWAY where the connection can still carry one, then close.
            input.clear()
            session.terminate(
                errorCode: error.isFlood || session.guardian.violation != nil
                    ? Self.enhanceYourCalm : Self.protocolError)
            draining = true
        }
        clientEvents(session.takeEvents())
        calmDownIfFlooded()
        if draining {
            // The client broke the protocol: the streams it still had open end here.
            for s in streams.values {
                cancelUpstream(s)
                recordFailure(s, PeerClose(side: .downstream, errno: EPROTO))
            }
        }
        return true
    }

    /// A flood found (HTTP2FloodGuard, also by resets we sent while producing): GOAWAY
    /// ENHANCE_YOUR_CALM, and the upstream halves of the streams are cancelled.
    private func calmDownIfFlooded() {
        guard session.guardian.violation != nil && !draining else { return }
        session.terminate(errorCode: Self.enhanceYourCalm)
        draining = true
        for s in streams.values { cancelUpstream(s) }
    }

    /// Pulls frames from the server session while the socket keeps up, and writes them.
    private func flushClient() -> Bool {
        guard var progress = HTTP2Output.produce(session, into: output, highWater: Self.outputHighWater) else {
            close()
            return false
        }
        let events = session.takeEvents()
        if !events.isEmpty {
            clientEvents(events)
            progress = true
        }
        if session.guardian.violation != nil && !draining {
            calmDownIfFlooded()
            progress = true
        }
        guard client.writable, !output.isEmpty else { return progress }
        let step = HTTP2Output.write(output, to: client)
        if case .closed(let failure) = step { clientFailed(failure) }
        return HTTP2Output.wrote(step) || progress
    }

    // MARK: stalled streams

    /// The stall timer's scan: streams stuck on a peer for the timeout are reset (HTTP2StreamStall).
    private func scanStalls() {
        guard !isClosed else { return }
        let now = ctx.loop.now
        var stuck: [(Stream, PeerSide)] = []
        stall.scanning {
            for s in streams.values {
                if let side = stall.check(
                    stream: s.id, toClient: s.toClientQueued, toUpstream: s.toUpstreamQueued,
                    sentToClient: s.sentToClient, sentToUpstream: s.sentToUpstream, now: now)
                {
                    stuck.append((s, side))
                }
            }
        }
        for (s, side) in stuck { stalled(s, on: side) }
        if !streams.isEmpty { stall.arm() }
        drive()
    }

    /// Ends a stalled stream: an ERROR flow naming the stuck peer (ETIMEDOUT); the upstream half
    /// is cancelled; the client gets 504 when no response began (the upstream took no body),
    /// else RST_STREAM(CANCEL). Queued bytes' credit goes back as for any reset.
    private func stalled(_ s: Stream, on side: PeerSide) {
        let failure = PeerClose(side: side, errno: HTTP2StreamStall.timedOut)
        cancelUpstream(s)
        if !s.responseStarted && side == .upstream {
            s.record.response(code: 504, failure: failure)
            reply(s, status: 504)
        } else {
            s.record.connectionFailed(failure, code: 0)
            if !session.isLocallyClosed(stream: s.id) { session.reset(stream: s.id, errorCode: Self.cancel) }
        }
    }

    // MARK: close

    /// The client's read or write failed, or it left with streams in flight: each unfinished
    /// stream's flow record gets `failure` (side and errno) and its response status (0 before
    /// any), as HTTP/1 does, then the connection closes.
    func clientFailed(_ failure: PeerClose) {
        for s in streams.values { recordFailure(s, failure) }
        close()
    }

    /// Writes a stream's failure into its flow record, once.
    func recordFailure(_ s: Stream, _ failure: PeerClose) {
        guard !s.failed else { return }
        s.failed = true
        s.record.connectionFailed(failure, code: s.status)
    }

    func closeWithReset() { close(reset: true) }

    /// Closes the client connection and every upstream connection. Idempotent.
    func close() { close(reset: false) }

    private func close(reset: Bool) {
        guard !isClosed else { return }
        isClosed = true
        stall.cancel()
        if lingering { ctx.loop.cancel(lingerTimer) }
        client.close(reset: reset)
        for up in upstreams { up.close() }
        upstreams.removeAll()
        upstream = nil
        streams.removeAll()
        session.close()
        ctx.connectionCount -= 1
    }
}
