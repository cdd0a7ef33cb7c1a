import HTTP1
import Policy
import SluiceIO

/// One downstream HTTP/1.1 connection and the upstream connection it uses, on one worker loop.
///
/// Phases of each request, in this order (docs/architecture.md): accept (done by the listener,
/// which also read the steering table) → read → parse → decide → act (forward, 403, 400/431,
/// 503/504, drop) → relay → record. Every failure edge also records a flow.
///
/// Both sockets are registered edge-triggered once; readiness is remembered in flags and
/// `drive()` makes all the progress it can. A short read or write means the socket is drained
/// or full, so no extra syscall is spent to hear EAGAIN. Bytes are never copied between
/// buffers: the request is written to the upstream straight from `down`, the response to the
/// client straight from `up`.
///
/// Owned by its loop: created, driven and closed on the loop thread.
final class HTTP1Connection: EventHandler, TimerTarget {
    enum State {
        case readingHead
        case connecting
        case forwardingRequest
        case awaitingResponse
        case relayingResponse
        case localReply
        case tunnel
        case lingering
        case closed
    }

    private enum Tag {
        static let downstream: UInt32 = 0
        static let upstream: UInt32 = 1
    }

    private enum Framing {
        case length(Int)
        case chunked(ChunkedScanner, scanned: Int, done: Bool)
        case untilClose
    }

    let ctx: WorkerContext
    let addresses: ConnectionAddresses
    let steer: SteerInfo?
    private(set) var state: State = .readingHead

    private let downFD: Int32
    private var downReg: EventLoop.Registration = .none
    private var upFD: Int32 = -1
    private var upReg: EventLoop.Registration = .none

    /// Bytes received from the client.
    private let down: IOBuffer
    /// Bytes received from the upstream.
    private let up: IOBuffer
    /// Replies generated locally (403, 400, 503...).
    private let out: IOBuffer

    private var downReadable = true
    private var downWritable = true
    private var upReadable = false
    private var upWritable = false

    private var head = RequestHead()
    private var response = ResponseHead()
    /// Bytes of the current request (head + body) still to forward or discard.
    private var requestFraming: Framing = .length(0)
    /// Bytes of the current response still to relay.
    private var responseFraming: Framing = .length(0)
    private var clientKeepAlive = true
    private var requestIsHEAD = false
    private var responseIsInterim = false
    private var responseIsUpgrade = false
    private var closeAfterReply = false
    /// Set once any byte of the current response reached the client (then errors can only close).
    private var responseStarted = false
    /// The upstream connection is between responses and may be reused or parked in the pool.
    private var upstreamIdle = false
    /// The client's `Connection: close` line, not forwarded (hop-by-hop) so the upstream
    /// connection stays reusable; offsets from `down`'s read position, nil when nothing to skip.
    private var skipLine: Range<Int>?
    /// Set once that line was dropped: the final response then gets `connection: close` (RFC
    /// 9112 9.6) inserted before the end of its head, at this offset from `up`'s read position,
    /// and `closeLineWritten` bytes of it are out.
    private var requestCloseDropped = false
    private var closeLineAt: Int?
    private var closeLineWritten = 0
    private static let closeLine: StaticString = "connection: close\r\n"

    /// Until the first request head: whether the bytes may still be an HTTP/2 preface.
    private var sniffing = true
    /// Incremental head parsing: O(n) however the head is split into reads.
    private var headReader = RequestHeadReader()
    /// Host, path and field checks before the decision, and the rebuilt head when one is needed.
    private let preparer: HTTP1RequestPreparer

    /// Request facts kept for the response flow after the request bytes are gone.
    let record: HTTPFlowRecorder

    /// The connection's one deadline (connect, response, idle or lingering close).
    private lazy var timer = LoopTimer(target: self)

    init(ctx: WorkerContext, fd: Int32, addresses: ConnectionAddresses, steer: SteerInfo?) {
        self.ctx = ctx
        self.downFD = fd
        self.addresses = addresses
        self.steer = steer
        let limit = max(ctx.config.bufferBytes, ctx.config.httpLimits.maxHeadBytes + 4096)
        down = IOBuffer(capacity: ctx.config.bufferBytes, limit: limit)
        up = IOBuffer(capacity: ctx.config.bufferBytes, limit: limit)
        // Room for a 307 whose Location is as long as the longest target.
        out = IOBuffer(capacity: 512, limit: 4096 + ctx.config.httpLimits.maxTargetBytes)
        preparer = HTTP1RequestPreparer(maxTargetBytes: ctx.config.httpLimits.maxTargetBytes)
        record = HTTPFlowRecorder(flows: ctx.flows, addresses: addresses, steer: steer)
    }

    /// Registers the downstream socket and processes whatever already arrived.
    func start() {
        do {
            downReg = try ctx.loop.register(
                fd: downFD,
                events: EventLoop.Events.readable | EventLoop.Events.writable | EventLoop.Events.readHangup
                    | EventLoop.Events.edgeTriggered,
                handler: self, tag: Tag.downstream)
        } catch {
            Socket.close(downFD)
            state = .closed
            return
        }
        ctx.connectionCount += 1
        if ctx.config.idleTimeoutNs > 0 { arm(ctx.loop.now + ctx.config.idleTimeoutNs) }
        drive()
    }

    // MARK: events

    func handleEvents(_ events: UInt32, tag: UInt32) {
        let readish = EventLoop.Events.readable | EventLoop.Events.hangup | EventLoop.Events.error
            | EventLoop.Events.readHangup
        if tag == Tag.downstream {
            if events & readish != 0 { downReadable = true }
            if events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 {
                downWritable = true
            }
        } else {
            if state == .connecting {
                if events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 {
                    finishConnect()
                }
            } else {
                if events & readish != 0 { upReadable = true }
                if events & (EventLoop.Events.writable | EventLoop.Events.error) != 0 { upWritable = true }
            }
        }
        drive()
    }

    func timerFired(now: UInt64) {
        guard state != .closed else { return }
        switch state {
        case .connecting:
            upstreamFailed()
        case .awaitingResponse where !responseStarted:
            closeUpstream()
            reply(status: 504, close: !clientKeepAlive)
        case .lingering, .readingHead:
            close()
        default:
            close()
        }
        drive()
    }

    private func arm(_ at: UInt64) {
        ctx.loop.schedule(timer, at: at)
    }

    private func disarm() {
        ctx.loop.cancel(timer)
    }

    // MARK: the driver

    /// Makes every step that can be made now.
    private func drive() {
        var progress = true
        while progress {
            switch state {
            case .readingHead: progress = stepReadHead()
            case .connecting: progress = false
            case .forwardingRequest: progress = stepForwardRequest()
            case .awaitingResponse: progress = stepAwaitResponse()
            case .relayingResponse: progress = stepRelayResponse()
            case .localReply: progress = stepLocalReply()
            case .tunnel: progress = stepTunnel()
            case .lingering: progress = stepLinger()
            case .closed: progress = false
            }
        }
    }

    // MARK: read → parse → decide

    private func stepReadHead() -> Bool {
        if sniffing && !down.isEmpty {
            // Protocol detection on the first bytes (RFC 9113 3.4): the HTTP/2 client preface
            // hands the connection to HTTP2Connection.
            switch HTTP2Preface.classify(down.readable) {
            case .http2:
                handOffToHTTP2(consumed: 0, upgrade: nil)
                return false
            case .needMore:
                guard downReadable, down.reserveSpace() else { return false }
                return readDownstream(eofWhenIdle: true)
            case .http1:
                sniffing = false
            }
        }
        if !down.isEmpty {
            switch headReader.parse(down.readable, into: &head, limits: ctx.config.httpLimits) {
            case .complete:
                headReader.reset()
                decide()
                return true
            case .error(let e):
                headReader.reset()
                badRequest(e)
                return true
            case .needMore:
                break
            }
        }
        guard downReadable else { return false }
        guard down.reserveSpace() else {
            badRequest(ParseError(status: 431, reason: "request header section too large"))
            return true
        }
        return readDownstream(eofWhenIdle: true)
    }

    /// Reads from the client into `down`. Returns whether progress was made.
    private func readDownstream(eofWhenIdle: Bool) -> Bool {
        let room = down.writableCount
        // A full buffer must not be read into: read(2) of 0 bytes would look like EOF.
        guard room > 0 else { return false }
        switch Socket.read(downFD, into: down) {
        case .bytes(let n):
            if n < room { downReadable = false }
            if ctx.config.idleTimeoutNs > 0 && state == .readingHead {
                arm(ctx.loop.now + ctx.config.idleTimeoutNs)
            }
            return true
        case .wouldBlock:
            downReadable = false
            return false
        case .eof, .error:
            // The client went away: between requests that is the normal end, mid-request it
            // abandons the request. Either way nothing more can be answered.
            close()
            return false
        }
    }

    /// The decide phase: policy verdict for the parsed head, then forward or answer.
    private func decide() {
        let bytes = down.readable
        sniffing = false
        if head.upgradeH2C {
            // `Upgrade: h2c` (RFC 7540 3.2): the streams are judged by HTTP2Connection, never
            // tunnelled past policy after an upstream 101. A chunked body cannot be upgraded.
            guard let upgrade = HTTP2Upgrade(bytes: bytes, head: head) else {
                badRequest(ParseError(status: 400, reason: "h2c upgrade with a chunked body"))
                return
            }
            handOffToHTTP2(consumed: head.headLength, upgrade: upgrade)
            return
        }
        guard let view = preparedView(bytes) else { return }
        requestIsHEAD = view.isHEAD
        clientKeepAlive = head.keepAlive
        record.beginRequest(view: view, versionMinor: head.versionMinor)

        let verdict = HTTPVerdict.evaluate(view, steer: steer, snapshot: ctx.snapshot,
                                           port: addresses.originalDestinationPort)
        record.decided(verdict)
        let bodyFraming: Framing
        switch head.framing {
        case .none: bodyFraming = .length(head.headLength)
        case .contentLength(let n): bodyFraming = .length(head.headLength + n)
        case .chunked: bodyFraming = .chunked(ChunkedScanner(limits: ctx.config.httpLimits), scanned: head.headLength, done: false)
        case .untilClose: bodyFraming = .length(head.headLength)
        }
        requestFraming = bodyFraming

        let hasBody: Bool
        switch head.framing {
        case .none, .untilClose: hasBody = false
        case .contentLength(let n): hasBody = n > 0
        case .chunked: hasBody = true
        }
        guard !verdict.allowed else {
            upstreamIdle = false
            skipLine = preparer.hasRewrittenHead ? nil : head.soleConnectionCloseLine(in: bytes)
            requestCloseDropped = false
            if head.expectContinue && hasBody {
                // Like Envoy (proxy_100_continue off), answer 100-continue ourselves so the
                // client sends its body at once; an upstream 100 is relayed too, which clients
                // ignore (RFC 9110 15.2: any number of 1xx may precede the final answer).
                _ = ProxyInterim.continue100.withUnsafeBytes { Socket.write(downFD, $0) }
            }
            if upFD >= 0 {
                state = .forwardingRequest
            } else {
                connectUpstream()
            }
            return
        }
        if verdict.action == .reset {
            // No rule admits this peer on this port at all: Cilium drops it at L3/L4, so the
            // client sees a dead connection, not an HTTP answer.
            closeWithReset()
            return
        }
        // A client waiting for 100-continue never sends the body after a final answer, so the
        // connection cannot be reused safely: close after the 403 (Envoy does the same).
        reply(status: 403, close: !clientKeepAlive || (head.expectContinue && hasBody))
    }

    private func badRequest(_ error: ParseError) {
        record.malformedRequest()
        reply(status: error.status, close: true)
    }

    // MARK: act: local replies

    /// Queues a locally generated answer and records its response flow.
    private func reply(status: Int, close: Bool) {
        out.clear()
        ctx.replies.append(status: status, close: close, to: out)
        closeAfterReply = close
        record.response(code: UInt16(status))
        state = .localReply
    }

    private func stepLocalReply() -> Bool {
        if !out.isEmpty {
            guard downWritable else { return false }
            switch Socket.write(downFD, out.readable) {
            case .bytes(let n):
                if n < out.readableCount { downWritable = false }
                out.consume(n)
                return true
            case .wouldBlock:
                downWritable = false
                return false
            case .eof, .error:
                close()
                return false
            }
        }
        if closeAfterReply {
            endWithoutKeepAlive()
            return state != .closed
        }
        // Keep-alive after a 403: drop the request body, then read the next request.
        switch discardRequestBody() {
        case .done:
            state = .readingHead
            return true
        case .progress:
            return true
        case .blocked:
            return false
        }
    }

    private enum DiscardResult { case done, progress, blocked }

    private func discardRequestBody() -> DiscardResult {
        let n = requestBytesAvailable()
        if n < 0 {
            closeAfterReply = true
            return .progress
        }
        if n > 0 {
            down.consume(n)
            requestBytesConsumed(n)
        }
        if requestComplete() { return .done }
        guard downReadable else { return .blocked }
        _ = down.reserveSpace()
        return readDownstream(eofWhenIdle: false) ? .progress : .blocked
    }

    /// After the final answer on a closing connection: wait for the client's FIN (bounded by a
    /// timer) so unread bytes do not turn our close into a RST that destroys the answer.
    /// Ends the connection after its last answer. When every byte the client sent was read
    /// (the request is complete, nothing is buffered and the last read drained the socket) it
    /// closes at once: the FIN follows the answer. Otherwise it half-closes and drains for up to
    /// 2 s (lingering close), because closing with unread bytes sends an RST that can destroy
    /// the answer in the client's receive queue. This is nginx's `lingering_close on`; bytes a
    /// client sends after reading an answer with `connection: close` are its own loss.
    private func endWithoutKeepAlive() {
        if down.isEmpty && !downReadable && requestFullyRead {
            close()
            return
        }
        Socket.shutdownWrite(downFD)
        state = .lingering
        arm(ctx.loop.now + 2_000_000_000)
    }

    private var requestFullyRead: Bool {
        switch requestFraming {
        case .length(let n): return n == 0
        case .chunked(_, _, let done): return done
        case .untilClose: return false
        }
    }

    private func stepLinger() -> Bool {
        guard downReadable else { return false }
        down.clear()
        switch Socket.read(downFD, into: down) {
        case .bytes(let n):
            down.clear()
            if n < down.capacity { downReadable = false }
            return true
        case .wouldBlock:
            downReadable = false
            return false
        case .eof, .error:
            close()
            return false
        }
    }

    // MARK: act: forward

    /// SO_MARK of this connection's upstream sockets: the client's identity rides along
    /// (`SteerInfo.upstreamMark`); pooled upstream connections are only reused with the same one.
    private var upstreamMark: UInt32 { steer?.upstreamMark ?? ProxyMarks.fromProxy(identity: 0) }

    private func connectUpstream() {
        if let pooled = ctx.upstreams.take(address: addresses.originalDestinationAddress,
                                           port: addresses.originalDestinationPort, mark: upstreamMark, for: self,
                                           tag: Tag.upstream) {
            upReg = pooled.registration
            upFD = pooled.fd
            upReadable = false
            upWritable = true
            state = .forwardingRequest
            return
        }
        do {
            upFD = try Socket.connectTCP(address: addresses.originalDestinationAddress,
                                          port: addresses.originalDestinationPort,
                                          mark: upstreamMark)
            upReg = try ctx.loop.register(
                fd: upFD,
                events: EventLoop.Events.readable | EventLoop.Events.writable | EventLoop.Events.readHangup
                    | EventLoop.Events.edgeTriggered,
                handler: self, tag: Tag.upstream)
        } catch {
            if upFD >= 0 { Socket.close(upFD) }
            upFD = -1
            upstreamFailed()
            return
        }
        upReadable = false
        upWritable = false
        state = .connecting
        arm(ctx.loop.now + ctx.config.connectTimeoutNs)
    }

    private func finishConnect() {
        if Socket.pendingError(upFD) != 0 {
            upstreamFailed()
            return
        }
        disarm()
        upWritable = true
        upReadable = true
        state = .forwardingRequest
    }

    /// The upstream refused, timed out or reset before any response byte: 503, like Envoy.
    private func upstreamFailed() {
        closeUpstream()
        if responseStarted {
            close()
            return
        }
        // The request body may still be arriving; keep-alive only if it can be skipped cleanly.
        reply(status: 503, close: !clientKeepAlive)
    }

    /// Parks an idle, clean upstream connection in the worker's pool; closes any other.
    private func releaseUpstream() {
        guard upFD >= 0 else { return }
        if upstreamIdle && up.isEmpty {
            ctx.upstreams.park(fd: upFD, registration: upReg, address: addresses.originalDestinationAddress,
                               port: addresses.originalDestinationPort, mark: upstreamMark)
            upFD = -1
            upReg = .none
            upReadable = false
            upWritable = false
            upstreamIdle = false
            return
        }
        closeUpstream()
    }

    private func closeUpstream() {
        guard upFD >= 0 else { return }
        ctx.loop.forget(upReg)
        Socket.close(upFD)
        upFD = -1
        upReg = .none
        upReadable = false
        upWritable = false
        upstreamIdle = false
        up.clear()
    }

    /// Number of bytes at the front of `down` that belong to the current request, or -1 when
    /// the chunked body is malformed.
    private func requestBytesAvailable() -> Int {
        let available = down.readableCount
        switch requestFraming {
        case .length(let remaining):
            return min(available, remaining)
        case .untilClose:
            return available
        case .chunked(var scanner, let scanned, let done):
            if done || scanned >= available { return min(scanned, available) }
            let fresh = UnsafeRawBufferPointer(rebasing: down.readable[scanned...])
            switch scanner.scan(fresh) {
            case .needMore:
                requestFraming = .chunked(scanner, scanned: available, done: false)
                return available
            case .done(let k):
                requestFraming = .chunked(scanner, scanned: scanned + k, done: true)
                return scanned + k
            case .error:
                return -1
            }
        }
    }

    private func requestBytesConsumed(_ n: Int) {
        switch requestFraming {
        case .length(let remaining): requestFraming = .length(remaining - n)
        case .untilClose: break
        case .chunked(let scanner, let scanned, let done):
            requestFraming = .chunked(scanner, scanned: scanned - n, done: done)
        }
    }

    private func requestComplete() -> Bool {
        switch requestFraming {
        case .length(let remaining): return remaining == 0
        case .untilClose: return false
        case .chunked(_, let scanned, let done): return done && scanned == 0
        }
    }

    private func stepForwardRequest() -> Bool {
        if preparer.hasRewrittenHead { return forwardRewrittenHead() }
        var n = requestBytesAvailable()
        if n < 0 {
            // Malformed chunked body after the head was forwarded: nothing sane can follow.
            close()
            return false
        }
        if let skip = skipLine {
            if skip.lowerBound == 0 {
                down.consume(skip.count)
                requestBytesConsumed(skip.count)
                skipLine = nil
                requestCloseDropped = true
                return true
            }
            if n >= skip.upperBound { return forwardHeadWithoutLine(skip, available: n) }
            n = min(n, skip.lowerBound)
        }
        if n > 0 {
            guard upWritable else { return false }
            switch Socket.write(upFD, UnsafeRawBufferPointer(rebasing: down.readable[..<n])) {
            case .bytes(let w):
                if w < n { upWritable = false }
                down.consume(w)
                requestBytesConsumed(w)
                if let skip = skipLine { skipLine = (skip.lowerBound - w)..<(skip.upperBound - w) }
            case .wouldBlock:
                upWritable = false
                return false
            case .eof, .error:
                upstreamFailed()
                return true
            }
        }
        if requestComplete() {
            state = .awaitingResponse
            responseStarted = false
            arm(ctx.loop.now + ctx.config.requestTimeoutNs)
            return true
        }
        if n > 0 { return true }
        guard downReadable else { return false }
        _ = down.reserveSpace()
        return readDownstream(eofWhenIdle: false)
    }

    /// One sendmsg of the request head around the dropped `Connection: close` line.
    private func forwardHeadWithoutLine(_ skip: Range<Int>, available n: Int) -> Bool {
        guard upWritable else { return false }
        let bytes = down.readable
        let before = UnsafeRawBufferPointer(rebasing: bytes[..<skip.lowerBound])
        let after = UnsafeRawBufferPointer(rebasing: bytes[skip.upperBound..<n])
        switch Socket.write(upFD, before, after) {
        case .bytes(let w):
            if w < n - skip.count { upWritable = false }
            let consumed = w < skip.lowerBound ? w : w + skip.count
            down.consume(consumed)
            requestBytesConsumed(consumed)
            if w < skip.lowerBound {
                skipLine = (skip.lowerBound - w)..<(skip.upperBound - w)
            } else {
                skipLine = nil
                requestCloseDropped = true
            }
            return true
        case .wouldBlock:
            upWritable = false
            return false
        case .eof, .error:
            upstreamFailed()
            return true
        }
    }

    // MARK: relay the response

    private func stepAwaitResponse() -> Bool {
        if !up.isEmpty {
            switch HTTP1Parser.parseResponseHead(up.readable, requestMethodIsHEAD: requestIsHEAD,
                                                 into: &response, limits: ctx.config.httpLimits) {
            case .complete:
                beginResponse()
                return true
            case .error:
                closeUpstream()
                if responseStarted { close(); return false }
                reply(status: 502, close: true)
                return true
            case .needMore:
                break
            }
        }
        guard upReadable else { return false }
        guard up.reserveSpace() else {
            closeUpstream()
            reply(status: 502, close: true)
            return true
        }
        return readUpstream()
    }

    /// Reads from the upstream into `up`; an EOF ends an until-close body or fails the response.
    private func readUpstream() -> Bool {
        let room = up.writableCount
        guard room > 0 else { return false }
        switch Socket.read(upFD, into: up) {
        case .bytes(let n):
            if n < room { upReadable = false }
            return true
        case .wouldBlock:
            upReadable = false
            return false
        case .eof, .error:
            upstreamEOF()
            return true
        }
    }

    private func upstreamEOF() {
        switch state {
        case .relayingResponse:
            if case .untilClose = responseFraming {
                // The body ends with the connection: relay what is buffered, then finish.
                upReadable = false
                upstreamClosedAfterBody = true
                return
            }
            closeUpstream()
            close()
        case .awaitingResponse:
            closeUpstream()
            if responseStarted {
                close()
            } else {
                reply(status: 503, close: !clientKeepAlive)
            }
        case .tunnel:
            upstreamClosedAfterBody = true
            upReadable = false
        default:
            closeUpstream()
        }
    }

    private var upstreamClosedAfterBody = false

    private func beginResponse() {
        disarm()
        let status = response.status
        responseIsInterim = status >= 100 && status < 200 && status != 101
        responseIsUpgrade = status == 101
        if !responseIsInterim {
            record.response(code: UInt16(truncatingIfNeeded: status))
        }
        let h = response.headLength
        if requestCloseDropped && !responseIsInterim && !responseIsUpgrade && response.keepAlive && h >= 4,
           up.readable[h - 3] == 0x0A, up.readable[h - 2] == 0x0D, up.readable[h - 1] == 0x0A {
            closeLineAt = h - 2
            closeLineWritten = 0
        }
        switch response.framing {
        case .none: responseFraming = .length(response.headLength)
        case .contentLength(let n):
            // Saturating: an upstream Content-Length near Int.max is a broken upstream, not a trap.
            let (total, overflow) = response.headLength.addingReportingOverflow(n)
            guard !overflow else {
                closeUpstream()
                reply(status: 502, close: true)
                return
            }
            responseFraming = .length(total)
        case .chunked:
            responseFraming = .chunked(ChunkedScanner(limits: ctx.config.httpLimits), scanned: response.headLength,
                                       done: false)
        case .untilClose: responseFraming = .untilClose
        }
        upstreamClosedAfterBody = false
        state = .relayingResponse
    }

    private func responseBytesAvailable() -> Int {
        let available = up.readableCount
        switch responseFraming {
        case .length(let remaining): return min(available, remaining)
        case .untilClose: return available
        case .chunked(var scanner, let scanned, let done):
            if done || scanned >= available { return min(scanned, available) }
            let fresh = UnsafeRawBufferPointer(rebasing: up.readable[scanned...])
            switch scanner.scan(fresh) {
            case .needMore:
                responseFraming = .chunked(scanner, scanned: available, done: false)
                return available
            case .done(let k):
                responseFraming = .chunked(scanner, scanned: scanned + k, done: true)
                return scanned + k
            case .error:
                return -1
            }
        }
    }

    private func responseBytesConsumed(_ n: Int) {
        switch responseFraming {
        case .length(let remaining): responseFraming = .length(remaining - n)
        case .untilClose: break
        case .chunked(let scanner, let scanned, let done):
            responseFraming = .chunked(scanner, scanned: scanned - n, done: done)
        }
    }

    private func responseComplete() -> Bool {
        switch responseFraming {
        case .length(let remaining): return remaining == 0
        case .untilClose: return upstreamClosedAfterBody && up.isEmpty
        case .chunked(_, let scanned, let done): return done && scanned == 0
        }
    }

    private func stepRelayResponse() -> Bool {
        var n = responseBytesAvailable()
        if n < 0 {
            closeUpstream()
            close()
            return false
        }
        if let at = closeLineAt {
            if n >= at { return relayHeadWithCloseLine(at: at, available: n) }
            n = min(n, at)
        }
        if n > 0 {
            guard downWritable else { return false }
            switch Socket.write(downFD, UnsafeRawBufferPointer(rebasing: up.readable[..<n])) {
            case .bytes(let w):
                if w < n { downWritable = false }
                responseStarted = true
                up.consume(w)
                responseBytesConsumed(w)
                if let at = closeLineAt { closeLineAt = at - w }
            case .wouldBlock:
                downWritable = false
                return false
            case .eof, .error:
                closeUpstream()
                close()
                return false
            }
        }
        if responseComplete() {
            finishResponse()
            return true
        }
        if n > 0 { return true }
        if upstreamClosedAfterBody {
            // EOF inside a length-delimited or chunked body: the response is truncated.
            closeUpstream()
            close()
            return false
        }
        guard upReadable else { return false }
        _ = up.reserveSpace()
        return readUpstream()
    }

    /// One sendmsg of the response head with (the rest of) `connection: close` inserted at `at`
    /// (0 once the bytes before it are out), then what follows it up to `n`.
    private func relayHeadWithCloseLine(at: Int, available n: Int) -> Bool {
        guard downWritable else { return false }
        return Self.closeLine.withUTF8Buffer { lineBytes in
            let line = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(lineBytes)[closeLineWritten...])
            let bytes = up.readable
            switch Socket.write(downFD, UnsafeRawBufferPointer(rebasing: bytes[..<at]), line,
                                UnsafeRawBufferPointer(rebasing: bytes[at..<n])) {
            case .bytes(let w):
                if w < n + line.count { downWritable = false }
                responseStarted = true
                let fromBuffer = w <= at ? w : max(at, w - line.count)
                up.consume(fromBuffer)
                responseBytesConsumed(fromBuffer)
                if w < at {
                    closeLineAt = at - w
                } else if w < at + line.count {
                    closeLineAt = 0
                    closeLineWritten += w - at
                } else {
                    closeLineAt = nil
                }
                return true
            case .wouldBlock:
                downWritable = false
                return false
            case .eof, .error:
                closeUpstream()
                close()
                return false
            }
        }
    }

    private func finishResponse() {
        if responseIsInterim {
            state = .awaitingResponse
            return
        }
        if responseIsUpgrade {
            state = .tunnel
            return
        }
        if !response.keepAlive || upstreamClosedAfterBody {
            closeUpstream()
        } else {
            upstreamIdle = true
        }
        if !clientKeepAlive {
            releaseUpstream()
            endWithoutKeepAlive()
            return
        }
        state = .readingHead
        if ctx.config.idleTimeoutNs > 0 { arm(ctx.loop.now + ctx.config.idleTimeoutNs) }
    }

    // MARK: tunnel (after 101 Switching Protocols)

    private func stepTunnel() -> Bool {
        var progress = false
        if !down.isEmpty && upWritable && upFD >= 0 {
            switch Socket.write(upFD, down.readable) {
            case .bytes(let w):
                if w < down.readableCount { upWritable = false }
                down.consume(w)
                progress = true
            case .wouldBlock: upWritable = false
            case .eof, .error: close(); return false
            }
        }
        if !up.isEmpty && downWritable {
            switch Socket.write(downFD, up.readable) {
            case .bytes(let w):
                if w < up.readableCount { downWritable = false }
                up.consume(w)
                progress = true
            case .wouldBlock: downWritable = false
            case .eof, .error: close(); return false
            }
        }
        if down.isEmpty && downReadable {
            _ = down.reserveSpace()
            let room = down.writableCount
            switch Socket.read(downFD, into: down) {
            case .bytes(let n): if n < room { downReadable = false }; progress = true
            case .wouldBlock: downReadable = false
            case .eof, .error: close(); return false
            }
        }
        if up.isEmpty && upReadable && upFD >= 0 {
            _ = up.reserveSpace()
            let room = up.writableCount
            switch Socket.read(upFD, into: up) {
            case .bytes(let n): if n < room { upReadable = false }; progress = true
            case .wouldBlock: upReadable = false
            case .eof, .error: close(); return false
            }
        }
        if upstreamClosedAfterBody && up.isEmpty { close(); return false }
        return progress
    }

    // MARK: hand-off to HTTP/2

    /// Gives the socket and the unconsumed bytes (after `consumed`) to a new HTTP2Connection;
    /// this connection ends without closing the socket.
    private func handOffToHTTP2(consumed: Int, upgrade: HTTP2Upgrade?) {
        releaseUpstream()
        ctx.loop.deregister(fd: downFD, registration: downReg)
        finishClose()
        let rest = UnsafeRawBufferPointer(rebasing: down.readable[consumed...])
        guard let h2 = HTTP2Connection(ctx: ctx, fd: downFD, addresses: addresses, steer: steer,
                                       initial: rest, upgrade: upgrade)
        else {
            Socket.close(downFD)
            return
        }
        h2.start()
    }

    // MARK: close

    private func closeWithReset() {
        guard state != .closed else { return }
        releaseUpstream()
        ctx.loop.forget(downReg)
        Socket.closeWithReset(downFD)
        finishClose()
    }

    /// Closes both sides. Idempotent.
    func close() {
        guard state != .closed else { return }
        releaseUpstream()
        ctx.loop.forget(downReg)
        Socket.close(downFD)
        finishClose()
    }

    private func finishClose() {
        state = .closed
        disarm()
        ctx.connectionCount -= 1
    }
}

// MARK: prepare: what the policy sees is what is forwarded

extension HTTP1Connection {
    /// The request view to decide on, after `HTTP1RequestPreparer`'s checks; nil when the request
    /// was answered here (400 and close for an invalid Host, path, field name or length; 307 for
    /// an encoded slash), each with its request and response flow records.
    private func preparedView(_ bytes: UnsafeRawBufferPointer) -> RequestView? {
        switch preparer.prepare(bytes: bytes, head: &head, underscores: ctx.config.headersWithUnderscores) {
        case .forward(let path, let authority):
            return RequestView(bytes: bytes, head: head, path: path, authority: authority)
        case .reject(let error):
            record.beginRequest(view: RequestView(bytes: bytes, head: head), versionMinor: head.versionMinor)
            record.rejected(verdict: .error)
            reply(status: error.status, close: true)
            return nil
        case .redirect(let location):
            // Envoy's UNESCAPE_AND_REDIRECT: never forwarded, the client asks again for the
            // unescaped path. Keep-alive only when there is no body to skip.
            record.beginRequest(view: RequestView(bytes: bytes, head: head), versionMinor: head.versionMinor)
            record.rejected(verdict: .dropped)
            clientKeepAlive = head.keepAlive
            let close = !head.keepAlive || head.framing != .none
            requestFraming = .length(head.headLength)
            out.clear()
            ctx.replies.appendRedirect(location: location, close: close, to: out)
            closeAfterReply = close
            record.response(code: 307)
            state = .localReply
            return nil
        }
    }

    /// Writes the rebuilt head upstream in place of the received one, then drops the received
    /// head from `down`; the body follows from `down` as usual.
    private func forwardRewrittenHead() -> Bool {
        guard upWritable else { return false }
        let result = preparer.rewrittenHead.withUnsafeBytes { all in
            Socket.write(upFD, UnsafeRawBufferPointer(rebasing: all[preparer.rewrittenWritten...]))
        }
        switch result {
        case .bytes(let w):
            preparer.rewrittenWritten += w
            if preparer.rewrittenWritten < preparer.rewrittenHead.count {
                upWritable = false
                return true
            }
            preparer.finishRewrite()
            down.consume(head.headLength)
            requestBytesConsumed(head.headLength)
            return true
        case .wouldBlock:
            upWritable = false
            return false
        case .eof, .error:
            preparer.finishRewrite()
            upstreamFailed()
            return true
        }
    }
}

/// Interim answers the proxy sends itself.
enum ProxyInterim {
    static let continue100: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}
