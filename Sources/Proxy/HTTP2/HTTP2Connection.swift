import Flows
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
/// Owned by its loop: created, driven and closed on the loop thread.
final class HTTP2Connection: EventHandler {
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
        /// Request body bytes queued on the upstream stream, not yet sent.
        var toUpstreamQueued = 0
        /// Response body bytes queued on the client stream, not yet sent.
        var toClientQueued = 0
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
    private let fd: Int32
    private var registration: EventLoop.Registration = .none
    private let input: IOBuffer
    private let output: IOBuffer
    private let session: HTTP2Session
    private var readable = true
    private var writable = true
    private var streams: [Int32: Stream] = [:]
    private var upstream: HTTP2Upstream?
    private var upstreams: [HTTP2Upstream] = []
    private(set) var isClosed = false
    private var draining = false
    private var upgrade: HTTP2Upgrade?
    /// Body bytes of an h2c-upgraded request still to come in HTTP/1 form (stream 1's DATA).
    private var upgradeBodyRemaining = 0
    private let common: FlowCommon
    private var driving = false
    /// Streams whose body waits on a peer that takes none of it (HTTP2StreamStall).
    private lazy var stall = HTTP2StreamStall(
        loop: ctx.loop, timeoutNs: ctx.config.http2Limits.streamStallTimeoutNs
    ) { [unowned self] in self.scanStalls() }

    static let outputHighWater = 64 * 1024
    /// RFC 9113 7: ENHANCE_YOUR_CALM, PROTOCOL_ERROR, CANCEL, INTERNAL_ERROR.
    static let enhanceYourCalm: UInt32 = 0xb
    static let protocolError: UInt32 = 0x1
    static let cancel: UInt32 = 0x8
    static let internalError: UInt32 = 0x2

    /// `initial`: bytes already read from the socket (the preface, or what followed an upgrade
    /// request's head); `upgrade`: the HTTP/1.1 request that asked for h2c, if any.
    init?(
        ctx: WorkerContext, fd: Int32, addresses: ConnectionAddresses, steer: SteerInfo?,
        initial: UnsafeRawBufferPointer, upgrade: HTTP2Upgrade?
    ) {
        guard
            let session = try? HTTP2Session(
                role: .server, limits: ctx.config.http2Limits,
                clock: { Clock.coarseMonotonicNs() })
        else { return nil }
        self.ctx = ctx
        self.fd = fd
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
        do {
            registration = try ctx.loop.register(
                fd: fd,
                events: EventLoop.Events.readable | EventLoop.Events.writable | EventLoop.Events.readHangup
                    | EventLoop.Events.edgeTriggered, handler: self, tag: 0)
        } catch {
            Socket.close(fd)
            isClosed = true
            return
        }
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
        if events
            & (EventLoop.Events.readable | EventLoop.Events.hangup | EventLoop.Events.error
                | EventLoop.Events.readHangup) != 0
        {
            readable = true
        }
        if events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 {
            writable = true
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
                || (readable && output.readableCount < Self.outputHighWater && !draining
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
        if !isClosed && !session.isAlive && output.isEmpty { close() }
    }

    /// An h2c-upgraded request's body has no HTTP/2 flow control (it arrives in HTTP/1 form):
    /// reading stops while a stream window's worth of it waits for the upstream.
    private var upgradeBodyBlocked: Bool {
        guard upgradeBodyRemaining > 0, let s = streams[1] else { return false }
        return s.toUpstreamQueued >= Int(ctx.config.http2Limits.initialStreamWindow)
    }

    /// Reads from the client and feeds the server session (upgrade body bytes first).
    private func readClient() -> Bool {
        if input.isEmpty {
            switch Socket.readStep(fd, into: input, side: .downstream) {
            case .progress: break
            case .blocked:
                readable = false
                return false
            case .closed:
                close()
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
            for s in streams.values { cancelUpstream(s) }
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
        guard writable, !output.isEmpty else { return progress }
        guard let wrote = HTTP2Output.write(fd, output, writable: &writable, side: .downstream) else {
            close()
            return progress
        }
        return wrote || progress
    }

    // MARK: events from the client

    private func clientEvents(_ events: [HTTP2Event]) {
        for event in events {
            if isClosed { return }
            switch event {
            case .headers(let id, let block, .request, let endStream):
                if !draining { onRequest(stream: id, block: block, endStream: endStream) }
            case .headers(let id, let block, _, _):
                // Request trailers end the request body.
                streams[id]?.replay = nil
                if let s = streams[id], let up = s.forwarding { up.session.end(stream: s.upstreamID, trailers: block) }
            case .data(let id, let bytes):
                if let s = streams[id], let up = s.forwarding, up.session.append(stream: s.upstreamID, bytes) {
                    s.toUpstreamQueued += bytes.count
                    s.replay = nil
                } else {
                    session.consume(stream: id, bytes.count)
                }
            case .endStream(let id):
                streams[id]?.requestEnded = true
                if let s = streams[id], let up = s.forwarding { up.session.end(stream: s.upstreamID) }
            case .dataSent(let id, let n):
                // Response bytes reached the client: the upstream may send as much again.
                guard let s = streams[id] else { continue }
                s.toClientQueued -= n
                if let up = s.upstream { up.session.consume(stream: s.upstreamID, n) }
            case .closed(let id, _):
                guard let s = streams.removeValue(forKey: id) else { continue }
                s.clientOpen = false
                if s.toClientQueued > 0, let up = s.upstream {
                    up.session.consume(stream: s.upstreamID, s.toClientQueued)
                }
                s.toClientQueued = 0
                cancelUpstream(s)
            case .reset, .goaway:
                break
            }
        }
    }

    /// Resets the upstream half of a stream the client is done with.
    private func cancelUpstream(_ s: Stream) {
        guard s.upstreamOpen, let up = s.upstream else { return }
        s.upstreamOpen = false
        up.streams[s.upstreamID] = nil
        if !up.isClosed && up.session.isOpen(stream: s.upstreamID) {
            up.session.reset(stream: s.upstreamID, errorCode: Self.cancel)
        }
        returnUnsentRequestCredit(s)
    }

    /// Request bytes that will never leave (the upstream stream is gone): credit back to the client.
    private func returnUnsentRequestCredit(_ s: Stream) {
        let credit = s.toUpstreamQueued - s.uncredited
        if credit > 0 { session.consume(stream: s.id, credit) }
        s.toUpstreamQueued = 0
        s.uncredited = 0
    }

    // MARK: decide → act

    /// A complete request header block on a new stream: the policy verdict, then forward or answer.
    private func onRequest(stream id: Int32, block: HTTP2HeaderBlock, endStream: Bool) {
        let s = Stream(id: id, record: HTTPFlowRecorder(flows: ctx.flows, common: common, proto: .http2))
        s.requestEnded = endStream
        streams[id] = s
        stall.arm()
        if block.overflowed {
            // More than the header list limit: answered 431 like HTTP/1 (Envoy resets; a status
            // tells the client why). The request cannot be judged, so its flow is an ERROR.
            s.record.malformedRequest()
            session.noteMalformedStream()
            reply(s, status: 431)
            return
        }
        guard let block = checkedPath(s, block) else { return }
        // The one decision HTTP1Connection makes too, on both sides.
        let verdict = HTTP2RequestView.with(block) { view -> HTTPVerdict in
            s.isGRPC = view.isGRPC
            s.isHEAD = view.isHEAD
            s.record.beginRequest(view)
            return HTTPVerdict.evaluate(
                view, steer: steer, snapshot: ctx.snapshot,
                port: addresses.originalDestinationPort)
        }
        s.record.decided(verdict)
        switch verdict.action {
        case .forward: forward(s, block: block, endStream: endStream)
        case .forbid: reply(s, status: 403)
        case .reset: closeWithReset()
        }
    }

    /// The block with `:path` normalised as for HTTP/1 (`HTTP2PathCheck`), or nil when the stream
    /// was answered (400, or 307 to the unescaped path) with its request and response flows.
    private func checkedPath(_ s: Stream, _ block: HTTP2HeaderBlock) -> HTTP2HeaderBlock? {
        let outcome = HTTP2PathCheck.check(block, underscores: ctx.config.headersWithUnderscores)
        if case .forward(let checked) = outcome { return checked }
        HTTP2RequestView.with(block) { view in
            s.isGRPC = view.isGRPC
            s.isHEAD = view.isHEAD
            s.record.beginRequest(view)
        }
        if case .redirect(let location) = outcome, !s.isGRPC {
            s.record.rejected(verdict: .dropped)
            reply(s, status: 307, location: location)
        } else {
            s.record.rejected(verdict: .error)
            session.noteMalformedStream()
            reply(s, status: 400)
        }
        return nil
    }

    /// Opens the stream on the upstream connection (connecting it first if needed).
    private func forward(_ s: Stream, block: HTTP2HeaderBlock, endStream: Bool) {
        guard let up = currentUpstream() else {
            reply(s, status: 503)
            return
        }
        do {
            s.upstreamID = try up.session.submitRequest(block, hasBody: !endStream)
        } catch {
            reply(s, status: 503)
            return
        }
        s.upstream = up
        s.upstreamOpen = true
        s.replay = s.attempts < Self.maxReplays ? block : nil
        up.streams[s.upstreamID] = s
    }

    /// Replays of a refused stream at most (Cilium's `http-retry-count` is 3).
    static let maxReplays = 3
    static let refusedStream: UInt32 = 0x7

    private func currentUpstream() -> HTTP2Upstream? {
        if let up = upstream, !up.retired { return up }
        guard
            let up = try? HTTP2Upstream(
                owner: self, loop: ctx.loop, limits: ctx.config.http2Limits,
                bufferBytes: ctx.config.bufferBytes)
        else { return nil }
        do {
            try up.connect(
                address: addresses.originalDestinationAddress, port: addresses.originalDestinationPort,
                mark: steer?.upstreamMark ?? ProxyMarks.fromProxy(identity: 0),
                timeoutNs: ctx.config.connectTimeoutNs)
        } catch {
            return nil
        }
        upstream = up
        upstreams.append(up)
        return up
    }

    /// A local answer on one stream (403, 431, 503...), recorded as its response flow.
    private func reply(_ s: Stream, status: Int, location: [UInt8]? = nil) {
        let r = HTTP2LocalReply.make(
            status: status, grpc: s.isGRPC, accessDenied: ctx.config.accessDeniedMessage,
            location: location)
        s.responseStarted = true
        s.record.response(code: UInt16(clamping: r.status))
        let hasBody = !r.body.isEmpty && !s.isHEAD
        do {
            try session.submitResponse(stream: s.id, r.headers, hasBody: hasBody)
        } catch {
            return
        }
        if hasBody {
            session.append(stream: s.id, r.body)
            session.end(stream: s.id)
        }
    }

    // MARK: events from an upstream

    func upstreamEvents(_ up: HTTP2Upstream, _ events: [HTTP2Event]) {
        for event in events {
            if isClosed { return }
            switch event {
            case .headers(let uid, let block, let category, let endStream):
                guard let s = stream(up, uid) else { continue }
                if !s.responseStarted && category != .request {
                    let status = block.text(of: ":status").flatMap { Int($0) } ?? 502
                    if status < 200 { continue }  // 1xx: nothing to relay (nghttp2 handles 100-continue)
                    s.responseStarted = true
                    s.record.response(code: UInt16(clamping: status))
                    do {
                        try session.submitResponse(stream: s.id, block, hasBody: !endStream)
                    } catch {
                        up.session.reset(stream: uid, errorCode: Self.cancel)
                    }
                } else {
                    session.end(stream: s.id, trailers: block)
                }
            case .data(let uid, let bytes):
                if let s = stream(up, uid), s.clientOpen, session.append(stream: s.id, bytes) {
                    s.toClientQueued += bytes.count
                } else {
                    up.session.consume(stream: uid, bytes.count)
                }
            case .endStream(let uid):
                if let s = stream(up, uid), s.clientOpen { session.end(stream: s.id) }
            case .dataSent(let uid, let n):
                // Request bytes reached the upstream: the client may send as much again.
                guard let s = up.streams[uid] else { continue }
                let free = min(n, s.uncredited)
                s.uncredited -= free
                s.toUpstreamQueued -= n
                if n > free { session.consume(stream: s.id, n - free) }
            case .closed(let uid, let code):
                guard let s = up.streams.removeValue(forKey: uid) else { continue }
                s.upstreamOpen = false
                returnUnsentRequestCredit(s)
                if s.clientOpen { upstreamStreamEnded(s, errorCode: code) }
            case .goaway:
                up.retire()
                if upstream === up { upstream = nil }
            case .reset:
                break
            }
        }
    }

    private func stream(_ up: HTTP2Upstream, _ uid: Int32) -> Stream? {
        up.streams[uid]
    }

    /// The upstream half of a stream closed: fine after a complete response; before the response
    /// head it becomes a 503 (Envoy: "upstream connect error or disconnect/reset before headers"),
    /// after it a reset of the client's stream.
    private func upstreamStreamEnded(_ s: Stream, errorCode: UInt32) {
        if !s.responseStarted && errorCode == Self.refusedStream, let block = s.replay {
            s.attempts += 1
            forward(s, block: block, endStream: s.requestEnded)
            return
        }
        if !s.responseStarted {
            reply(s, status: 503)
        } else if errorCode != 0 && !session.isLocallyClosed(stream: s.id) {
            session.reset(stream: s.id, errorCode: Self.internalError)
        }
    }

    /// The upstream connection is gone: its unanswered streams are answered here.
    func upstreamClosed(_ up: HTTP2Upstream, orphans: [Int32: Stream]) {
        if upstream === up { upstream = nil }
        for (_, s) in orphans {
            s.upstreamOpen = false
            returnUnsentRequestCredit(s)
            if s.clientOpen { upstreamStreamEnded(s, errorCode: Self.internalError) }
        }
        upstreams.removeAll { $0 === up }
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
                    stream: s.id, toClient: s.toClientQueued, toUpstream: s.toUpstreamQueued, now: now)
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

    private func closeWithReset() {
        guard !isClosed else { return }
        finishClose()
        Socket.closeWithReset(fd)
    }

    /// Closes the client connection and every upstream connection. Idempotent.
    func close() {
        guard !isClosed else { return }
        finishClose()
        Socket.close(fd)
    }

    private func finishClose() {
        isClosed = true
        stall.cancel()
        ctx.loop.deregister(fd: fd, registration: registration)
        for up in upstreams { up.close() }
        upstreams.removeAll()
        upstream = nil
        streams.removeAll()
        session.close()
        ctx.connectionCount -= 1
    }
}
