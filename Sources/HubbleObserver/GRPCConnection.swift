import HTTP2
import HubbleProto
import SluiceIO
import SluiceModel

/// One client connection of the Observer gRPC API: an nghttp2 server session (`HTTP2Session`)
/// over a non-blocking socket on the observer's loop. Each request stream (`Call`) is collected
/// (headers, one length-prefixed message, END_STREAM), then handed to `GRPCService.dispatch`,
/// which answers it with `respond`/`fail` (unary) or `startStream`/`send`/`finish` (streams).
///
/// Output: the session runs in gather mode (`HTTP2Session(gather: true)`): each message's array
/// is referenced, never copied, from `send` to the socket; nghttp2's frames are gathered into one
/// `HTTP2WriteBatch` (reused: no allocation per flush) and written with one sendmsg per batch.
/// When the socket is full the connection waits for EPOLLOUT and stops asking nghttp2 for more,
/// so a slow client leaves bytes queued in the session (`queued(stream:)`), which a follow stream
/// bounds (`FollowStream`). Over TLS the batch is staged through a reused 64 KiB buffer per
/// SSL_write (the one copy TLS adds, beside the encryption).
/// Deadlines (`grpc-timeout`) and `until` of follow streams are one timer per connection.
///
/// Over TLS (`tls` set, `ObserverTLS`) the bytes go through OpenSSL: the handshake runs first
/// (within `GRPCService.handshakeTimeoutNs` of the accept), nothing is written before it is done, and
/// plaintext OpenSSL has decrypted but not yet handed out is read on the next loop turn.
///
/// Loop thread only. Closed (socket, session, follow listeners) by `close()`, idempotent.
final class GRPCConnection: EventHandler, TimerTarget {
    /// One request stream.
    final class Call {
        let stream: Int32
        var path = ""
        var body: [UInt8] = []
        /// Monotonic ns at which the call fails with DEADLINE_EXCEEDED.
        var timeoutAt: UInt64?
        /// Monotonic ns at which a follow stream ends (its `until`).
        var untilAt: UInt64?
        var headersSent = false
        var done = false
        var follow: FollowStream?

        init(stream: Int32) { self.stream = stream }
    }

    let fd: Int32
    let peer: Socket.Accepted
    unowned let service: GRPCService
    let session: HTTP2Session
    /// The connection's TLS, nil for plaintext.
    let tls: TLSServerStream?
    /// Monotonic ns of the accept (the TLS handshake's deadline counts from it).
    private let acceptedNs: UInt64
    private var registration = EventLoop.Registration.none
    private let input = IOBuffer(capacity: 16 * 1024, limit: 16 * 1024)
    /// Frames gathered for the next write (`flush`).
    private let batch = HTTP2WriteBatch()
    /// Over TLS: the plaintext of one SSL_write, copied from `batch` (allocated at the first).
    private var tlsStage: UnsafeMutableRawBufferPointer?
    private var wantsWritable = false
    private(set) var calls: [Int32: Call] = [:]
    private(set) var isClosed = false
    private lazy var timer = LoopTimer(target: self)
    private lazy var flushTarget = FlushTarget(self)
    private lazy var flushTimer = LoopTimer(target: flushTarget)

    init(accepted: Socket.Accepted, service: GRPCService, tls: TLSServerStream? = nil) throws {
        fd = accepted.fd
        peer = accepted
        self.service = service
        self.tls = tls
        acceptedNs = service.loop.now
        session = try HTTP2Session(role: .server, clock: service.loop.clock, gather: true)
        registration = try service.loop.register(
            fd: fd, events: EventLoop.Events.readable | EventLoop.Events.readHangup, handler: self, tag: 0)
        lastActivity = service.loop.now
        armTimer()
    }

    deinit { tlsStage?.deallocate() }

    /// Monotonic ns of the last bytes read; with no call open for `GRPCService.idleTimeoutNs`
    /// after it, the connection is closed (GOAWAY), so idle or silent clients cannot hold the
    /// connection slots.
    private var lastActivity: UInt64 = 0

    var loop: EventLoop { service.loop }

    // MARK: events

    func handleEvents(_ events: UInt32, tag: UInt32) {
        if events & EventLoop.Events.writable != 0 {
            flush()
            // A TLS read may have waited for the socket to be writable.
            if tls?.wantsWritable ?? false { readAvailable() }
        }
        if events
            & (EventLoop.Events.readable | EventLoop.Events.readHangup | EventLoop.Events.error
                | EventLoop.Events.hangup) != 0
        {
            readAvailable()
        }
    }

    fileprivate func readAvailable() {
        for _ in 0..<16 {
            guard !isClosed else { return }
            let step = tls?.read(into: input) ?? Socket.readStep(fd, into: input, side: .downstream)
            switch step {
            case .progress:
                lastActivity = loop.now
                do {
                    try session.receive(input.readable)
                } catch {
                    input.clear()
                    // nghttp2 queued a GOAWAY where the protocol calls for one.
                    flush()
                    close()
                    return
                }
                input.clear()
                handleSessionEvents()
            case .blocked:
                flush()
                return
            case .closed:
                close()
                return
            }
        }
        // Decrypted bytes wait in OpenSSL with the socket maybe drained: read them next turn.
        if tls?.hasPending ?? false { scheduleFlush() }
        flush()
    }

    private func handleSessionEvents() {
        for event in session.takeEvents() {
            switch event {
            case .headers(let stream, let block, let category, let endStream):
                guard category == .request else { continue }
                let call = Call(stream: stream)
                call.path = block.text(of: ":path") ?? ""
                calls[stream] = call
                let contentType = block.text(of: "content-type") ?? ""
                guard block.text(of: ":method") == "POST", contentType.hasPrefix("application/grpc") else {
                    // Not gRPC: an HTTP answer, as grpc-go gives (415 for a wrong content type).
                    try? session.submitResponse(
                        stream: stream, HTTP2HeaderBlock([(":status", "415")]), hasBody: false)
                    call.done = true
                    continue
                }
                if let text = block.text(of: "grpc-timeout") {
                    guard let ns = GRPCWire.timeoutNs(text) else {
                        fail(call, .invalidArgument, "invalid grpc-timeout: \(text)")
                        continue
                    }
                    call.timeoutAt = loop.now &+ ns
                    armTimer()
                }
                if endStream { service.dispatch(call, on: self) }
            case .data(let stream, let bytes):
                session.consume(stream: stream, bytes.count)
                guard let call = calls[stream], !call.done else { continue }
                if call.body.count + bytes.count > GRPCWire.maxMessageBytes + 5 {
                    fail(call, .resourceExhausted, "request larger than \(GRPCWire.maxMessageBytes) bytes")
                    continue
                }
                call.body.append(contentsOf: bytes)
            case .endStream(let stream):
                if let call = calls[stream], !call.done { service.dispatch(call, on: self) }
            case .reset(let stream, _), .closed(let stream, _):
                if let call = calls.removeValue(forKey: stream) { end(call) }
                armTimer()
            case .dataSent, .goaway:
                break
            }
        }
    }

    // MARK: answering

    private static let okHeaders = HTTP2HeaderBlock([(":status", "200"), ("content-type", "application/grpc")])

    /// A unary answer: headers, one message, trailers with status OK.
    func respond(_ call: Call, _ message: [UInt8]) {
        startStream(call)
        send(call, message)
        finish(call, .ok, "")
    }

    /// Opens the response of a streaming call (headers only).
    func startStream(_ call: Call) {
        guard !call.headersSent, !call.done else { return }
        call.headersSent = (try? session.submitResponse(stream: call.stream, Self.okHeaders, hasBody: true)) != nil
    }

    /// One message on an open response.
    func send(_ call: Call, _ message: [UInt8]) {
        guard call.headersSent, !call.done else { return }
        session.append(stream: call.stream, GRPCWire.frame(message))
        scheduleFlush()
    }

    /// One message already framed (`GetFlowsResponse.framedFlow`) on an open response.
    func sendFramed(_ call: Call, _ framed: [UInt8]) {
        guard call.headersSent, !call.done else { return }
        session.append(stream: call.stream, framed)
        scheduleFlush()
    }

    /// Ends a call with `status` (trailers after the messages, or a trailers-only answer).
    func finish(_ call: Call, _ status: GRPCWire.Status, _ message: String) {
        guard !call.done else { return }
        // The follow stream's last responses go before the trailers.
        call.follow?.handOn()
        var trailers = [("grpc-status", String(status.rawValue))]
        if !message.isEmpty { trailers.append(("grpc-message", GRPCWire.percentEncoded(message))) }
        if call.headersSent {
            session.end(stream: call.stream, trailers: HTTP2HeaderBlock(trailers))
        } else {
            let block = HTTP2HeaderBlock([(":status", "200"), ("content-type", "application/grpc")] + trailers)
            try? session.submitResponse(stream: call.stream, block, hasBody: false)
        }
        end(call)
        scheduleFlush()
    }

    /// A call that failed before any message: a trailers-only answer.
    func fail(_ call: Call, _ status: GRPCWire.Status, _ message: String) {
        finish(call, status, message)
    }

    /// Bytes queued on `call`'s stream and not yet in a DATA frame (a follow stream's batch too).
    func queued(_ call: Call) -> Int { session.queued(stream: call.stream) + (call.follow?.batchedBytes ?? 0) }

    /// Bytes queued in the session on `call`'s stream (its follow stream adds its own batch).
    func sessionQueued(_ call: Call) -> Int { session.queued(stream: call.stream) }

    private func end(_ call: Call) {
        call.done = true
        if let follow = call.follow {
            service.observer?.removeListener(follow)
            call.follow = nil
        }
    }

    // MARK: deadlines

    func armTimer() {
        let open = calls.values.filter { !$0.done }
        var next = open.compactMap { [$0.timeoutAt, $0.untilAt].compactMap { $0 }.min() }.min()
        if open.isEmpty { next = min(next ?? .max, lastActivity &+ service.idleTimeoutNs) }
        if let tls, !tls.handshakeDone { next = min(next ?? .max, acceptedNs &+ service.handshakeTimeoutNs) }
        if let next { loop.schedule(timer, at: next) } else { loop.cancel(timer) }
    }

    func timerFired(now: UInt64) {
        if let tls, !tls.handshakeDone, now &- acceptedNs >= service.handshakeTimeoutNs { return close() }
        if !calls.values.contains(where: { !$0.done }), now &- lastActivity >= service.idleTimeoutNs {
            session.shutdownGracefully()
            flush()
            return close()
        }
        for call in calls.values where !call.done {
            if let at = call.untilAt, at <= now {
                finish(call, .ok, "")
            } else if let at = call.timeoutAt, at <= now {
                finish(call, .deadlineExceeded, "context deadline exceeded")
            }
        }
        armTimer()
        flush()
    }

    // MARK: output

    /// Flushes at the end of this loop iteration (many messages, one write). Called per message:
    /// a flag, not the lazy timer (whose getter retains and releases), says it is scheduled.
    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.schedule(flushTimer, at: loop.now)
    }

    private var flushScheduled = false

    private final class FlushTarget: TimerTarget {
        unowned let connection: GRPCConnection
        init(_ connection: GRPCConnection) { self.connection = connection }
        func timerFired(now: UInt64) {
            connection.flushScheduled = false
            if connection.tls?.hasPending ?? false { connection.readAvailable() }
            connection.flush()
        }
    }

    /// Socket (or TLS) writes made and frames gathered (DATA frames and chunks of the others); a
    /// test holds the writes well below the frames of a burst.
    private(set) var writes = 0
    var framesProduced: Int { batch.frames }

    /// Bytes of frames gathered for one write: references, not copies, so a larger batch costs
    /// no memory traffic; 512 KiB of ~1 KB flows is ~530 iovecs, under IOV_MAX, so one sendmsg.
    static let writeBatch = 512 * 1024
    /// Plaintext bytes per SSL_write over TLS.
    static let tlsStageBytes = 64 * 1024

    /// Writes what is gathered, then gathers what nghttp2 produces, until done or the socket is
    /// full.
    func flush() {
        guard !isClosed else { return }
        // Follow streams hand on the responses they batched in this loop turn.
        for call in calls.values { call.follow?.handOn() }
        if let tls, !tls.handshakeDone {
            // The handshake runs in reads; it may need the socket writable.
            return setWritableInterest(tls.wantsWritable)
        }
        while true {
            if !batch.isEmpty {
                let step: IOStep
                var offered = 0
                if let tls {
                    step = writeStaged(tls)
                } else {
                    step = batch.withIOVecs { iovecs, bytes in
                        offered = bytes
                        return Socket.writeStep(fd, iovecs: iovecs, side: .downstream)
                    }
                }
                switch step {
                case .progress(let n):
                    batch.consume(n)
                    writes += 1
                    // A short write means the socket's buffer is full: wait for EPOLLOUT rather
                    // than spend a syscall to hear EAGAIN.
                    if tls == nil && n < offered {
                        setWritableInterest(true)
                        return
                    }
                    continue
                case .blocked:
                    // A TLS write may wait for the socket to be readable (which is always asked).
                    setWritableInterest(tls?.wantsWritable ?? true)
                    return
                case .closed:
                    close()
                    return
                }
            }
            // Frames are gathered up to `writeBatch` bytes before one write: a burst of flows on a
            // follow stream (many DATA frames) costs one syscall per batch, not one per frame.
            try? session.produce(into: batch, limit: Self.writeBatch)
            if batch.isEmpty { break }
        }
        // Everything gathered is written: a follow stream with nothing left in the session holds
        // the only references to the batch arrays it handed on.
        for call in calls.values where call.follow != nil && session.queued(stream: call.stream) == 0 {
            call.follow?.written()
        }
        setWritableInterest(tls?.wantsWritable ?? false)
        if !session.isAlive { return close() }
        // Follow streams that dropped flows say so once their queue has room again.
        for call in calls.values where call.follow?.dropped ?? 0 > 0 { call.follow?.drained() }
    }

    /// One SSL_write of the batch's first bytes (OpenSSL may move and shorten the buffer between
    /// retries: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER and partial writes are on).
    private func writeStaged(_ tls: TLSServerStream) -> IOStep {
        let stage =
            tlsStage
            ?? UnsafeMutableRawBufferPointer.allocate(byteCount: Self.tlsStageBytes, alignment: 16)
        tlsStage = stage
        let n = batch.copyFront(into: stage)
        return tls.write(UnsafeRawBufferPointer(rebasing: stage[..<n]))
    }

    private func setWritableInterest(_ on: Bool) {
        guard on != wantsWritable else { return }
        wantsWritable = on
        var events = EventLoop.Events.readable | EventLoop.Events.readHangup
        if on { events |= EventLoop.Events.writable }
        try? loop.modify(fd: fd, registration: registration, events: events)
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        for call in calls.values { end(call) }
        calls.removeAll()
        loop.cancel(timer)
        loop.cancel(flushTimer)
        loop.deregister(fd: fd, registration: registration)
        tls?.shutdown()
        Socket.close(fd)
        session.close()
        batch.removeAll()
        tlsStage?.deallocate()
        tlsStage = nil
        service.connectionClosed(self)
    }
}
