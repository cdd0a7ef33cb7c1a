import Glibc
import HTTP1
import Policy
import SluiceIO

/// One downstream HTTP/1.1 connection and the upstream connection it uses, on one worker loop.
///
/// Phases of each request, in this order (docs/architecture.md), one file each:
/// accept (done by the listener, which also read the steering table) → read and parse the head
/// (`+RequestHead`) → decide (`+Decide`) → act: forward (`+Forward`), or answer locally
/// (`+LocalReply`: 403, 400/431, 503/504, 307) or drop → relay the response (`+Response`), or a
/// tunnel after 101 (`+Tunnel`) → record. Every failure edge also records a flow: a peer's failed
/// read or write (`PeerClose`: side and errno) reaches the flow record.
///
/// The peers are reached through `Transport` (`SocketTransport` in production: both sockets
/// registered edge-triggered once; a test's in-memory peers otherwise). Readiness is remembered
/// in the peers and `drive()` makes all the progress it can. A short read or write means the
/// socket is drained or full, so no extra syscall is spent to hear EAGAIN. Bytes are never copied
/// between buffers: the request is written to the upstream straight from `down`, the response to
/// the client straight from `up`.
///
/// Owned by its loop: created, driven and closed on the loop thread.
final class HTTP1Connection<Transport: HTTP1Transport>: EventHandler, TimerTarget {
    /// Where the connection is in its request cycle. What a phase needs beyond the buffers and
    /// the current heads rides in its associated values.
    enum State: Equatable {
        /// Until the first request head: the bytes may still be an HTTP/2 client preface.
        case detecting
        /// A `serverNames` port: reading the TLS ClientHello (`+TLS`, Sources/Proxy/TLS).
        case tlsHello
        case readingHead
        case connecting
        case forwardingRequest
        /// `interimRelayed`: a 1xx already reached the client, so a failure can only close.
        case awaitingResponse(interimRelayed: Bool)
        /// `upstreamEnded`: the upstream's EOF was read (it ends an until-close body).
        case relayingResponse(upstreamEnded: Bool)
        /// A local answer with this status is in `out`; `thenClose`: the connection ends after
        /// it, else the rest of the request is skipped and the next one read.
        case localReply(status: Int, thenClose: Bool)
        /// After 101 Switching Protocols: bytes both ways until a side ends.
        case tunnel(upstreamEnded: Bool)
        /// After the last answer: draining the client until its FIN (lingering close).
        case lingering
        case closed
    }

    let ctx: WorkerContext
    let addresses: ConnectionAddresses
    let steer: SteerInfo?
    var state: State = .detecting

    /// The two peers and the sockets behind them.
    var io: Transport
    /// The client (started at `start`).
    var client: Transport.Peer {
        get { io.client }
        _modify { yield &io.client }
    }
    /// The upstream, when one is open.
    var server: Transport.Peer {
        get { io.server }
        _modify { yield &io.server }
    }
    /// The upstream connection is between responses and may be reused or parked in the pool.
    var upstreamIdle = false

    /// Bytes received from the client.
    let down: IOBuffer
    /// Bytes received from the upstream.
    let up: IOBuffer
    /// Replies generated locally (403, 400, 503...).
    let out: IOBuffer

    var head = RequestHead()
    var response = ResponseHead()
    /// Bytes of the current request (head + body) still to forward or discard.
    var requestFraming = MessageFraming()
    /// Bytes of the current response still to relay.
    var responseFraming = MessageFraming()
    var clientKeepAlive = true
    var requestIsHEAD = false
    /// The client's `Connection: close` line dropped from the request, inserted in the response.
    var closeEdit = ConnectionCloseEdit()

    /// Incremental head parsing: O(n) however the head is split into reads.
    var headReader = RequestHeadReader()
    /// Host, path and field checks before the decision, and the rebuilt head when one is needed.
    var preparer: HTTP1RequestPreparer
    /// What the current request's `headerMatches` mismatch actions do to its head (`decide`);
    /// empty unless a rule on the port carries such actions.
    var headerEdits = HTTPHeaderEdits()
    /// The port policies that decide this connection's requests, found once per snapshot.
    var deciders = HTTPPortDeciders()

    /// Request facts kept for the response flow after the request bytes are gone.
    let record: HTTPFlowRecorder

    /// The connection's one deadline (request head, keep-alive idle, connect, response, tunnel
    /// idle or lingering close; which one follows from `state`, docs/proxy.md "Timeouts").
    private lazy var timer = LoopTimer(target: self)
    /// The deadline the timer stands for, 0 = none (`arm`, `disarm`).
    private var deadlineNs: UInt64 = 0
    /// The deadline of the timer's entry in the loop's heap, 0 = not scheduled.
    private var scheduledNs: UInt64 = 0
    /// The deadline of the current request head is running (its first byte arrived, or the
    /// connection is new); otherwise a head-reading state waits under the keep-alive idle timeout.
    var headDeadlineArmed = false
    /// The last time a tunnel moved a byte either way (`tunnelIdleTimeoutNs` counts from it).
    var tunnelActivityNs: UInt64 = 0
    /// The last time a request or response body moved a byte (`bodyIdleTimeoutNs` counts from
    /// it). Set once per read or write that made progress, never per byte; the timer is armed
    /// once per body and re-armed from this when it fires early.
    var bodyActivityNs: UInt64 = 0
    /// The request's `Upgrade` value (as received) when it asked for an upgrade with
    /// `Connection: upgrade`, else empty: a `101` is relayed only for a protocol listed here.
    var requestedUpgrade: [UInt8] = []
    /// A `serverNames` connection allowed by its SNI: the upstream is spliced (`+TLS`), never
    /// answered in HTTP.
    var splicing = false
    /// The SNI of a `serverNames` connection (nil: none), for its flow records.
    var tlsServerName: String?
    lazy var tlsRecorder = TLSFlowRecorder(
        flows: ctx.flows, recording: ctx.recording, addresses: addresses, steer: steer)

    init(ctx: WorkerContext, transport: Transport, addresses: ConnectionAddresses, steer: SteerInfo?) {
        self.ctx = ctx
        self.io = transport
        self.addresses = addresses
        self.steer = steer
        let limit = max(ctx.config.bufferBytes, ctx.config.httpLimits.maxHeadBytes + 4096)
        down = IOBuffer(capacity: ctx.config.bufferBytes, limit: limit)
        up = IOBuffer(capacity: ctx.config.bufferBytes, limit: limit)
        // Room for a 307 whose Location is as long as the longest target.
        out = IOBuffer(capacity: 512, limit: 4096 + ctx.config.httpLimits.maxTargetBytes)
        preparer = HTTP1RequestPreparer(maxTargetBytes: ctx.config.httpLimits.maxTargetBytes)
        record = HTTPFlowRecorder(flows: ctx.flows, recording: ctx.recording, addresses: addresses, steer: steer)
    }

    /// Registers the downstream socket and processes whatever already arrived.
    func start() {
        guard io.start(handler: self) else {
            state = .closed
            return
        }
        ctx.connectionCount += 1
        if TLSDecision.appliesTo(steer: steer, snapshot: ctx.snapshot, port: addresses.originalDestinationPort) {
            startTLSHello()
        } else {
            // HTTP clients speak first: the first head's deadline runs from the accept.
            armHeadDeadline()
        }
        drive()
    }

    // MARK: events

    // The loop enters through the `EventHandler`/`TimerTarget` witnesses, which are generic: the
    // `@_specialize` entry points make them jump to the socket-specialised code, so the relay
    // path below runs specialised for `SocketTransport` (no witness-table calls per step).
    @_specialize(exported:false,kind:full,where Transport == SocketTransport)
    func handleEvents(_ events: UInt32, tag: UInt32) {
        let readish =
            EventLoop.Events.readable | EventLoop.Events.hangup | EventLoop.Events.error
            | EventLoop.Events.readHangup
        if tag == HTTP1Tag.downstream {
            if events & readish != 0 { client.readable = true }
            if events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 {
                client.writable = true
            }
        } else if state == .connecting {
            if events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 {
                finishConnect()
            }
        } else {
            if events & readish != 0 { server.readable = true }
            if events & (EventLoop.Events.writable | EventLoop.Events.error) != 0 { server.writable = true }
        }
        drive()
    }

    @_specialize(exported:false,kind:full,where Transport == SocketTransport)
    func timerFired(now: UInt64) {
        // The heap entry may be earlier than the deadline (`arm`), or stale after `disarm`.
        scheduledNs = 0
        guard deadlineNs != 0 else { return }
        guard now >= deadlineNs else {
            scheduledNs = deadlineNs
            ctx.loop.schedule(timer, at: deadlineNs)
            return
        }
        deadlineNs = 0
        switch state {
        case .closed:
            return
        case .detecting, .readingHead:
            requestHeadTimedOut()
        case .tlsHello:
            tlsHelloTimedOut()
        case .connecting:
            upstreamFailed(PeerClose(side: .upstream, errno: ETIMEDOUT))
        case .forwardingRequest:
            requestBodyTimerFired(now: now)
        case .awaitingResponse(interimRelayed: false):
            closeUpstream()
            reply(status: 504, close: !clientKeepAlive, failure: PeerClose(side: .upstream, errno: ETIMEDOUT))
        case .awaitingResponse(interimRelayed: true):
            // A 1xx already reached the client: no final answer can be sent any more.
            closeUpstream()
            abort(PeerClose(side: .upstream, errno: ETIMEDOUT), code: 0)
        case .tunnel:
            tunnelTimerFired(now: now)
        case .relayingResponse:
            responseBodyTimerFired(now: now)
        case .localReply, .lingering:
            close()
        }
        drive()
    }

    /// The head deadline or the keep-alive idle timeout fired while waiting for a request head:
    /// part of a head arrived → 408 and close; nothing → close. Each writes an ERROR request flow
    /// and a response flow naming the client's ETIMEDOUT (code 408, or 0 for a silent close).
    private func requestHeadTimedOut() {
        let failure = PeerClose(side: .downstream, errno: ETIMEDOUT)
        headReader.reset()
        record.malformedRequest()
        if headDeadlineArmed && !down.isEmpty {
            reply(status: 408, close: true, failure: failure)
            return
        }
        record.connectionFailed(failure, code: 0)
        close()
    }

    /// Sets the connection's one deadline to `at`. Every request moves it later several times
    /// (head, body, response, keep-alive idle); a later deadline only updates `deadlineNs` and
    /// leaves the loop's heap entry where it is: that entry fires early, finds the deadline not
    /// due and is scheduled again at it (`timerFired`). Only an earlier deadline reorders the heap,
    /// so a request costs no heap sifts for its timeouts (2 % of get-ka's agent samples before).
    func arm(_ at: UInt64) {
        deadlineNs = at
        // `scheduledNs`, not the timer's own fields: reading the lazy `timer` retains it.
        if scheduledNs == 0 || scheduledNs > at {
            scheduledNs = at
            ctx.loop.schedule(timer, at: at)
        }
    }

    /// Arms `timeout` from now, or disarms when it is 0 (none).
    func arm(after timeout: UInt64) {
        if timeout > 0 { arm(ctx.loop.now + timeout) } else { disarm() }
    }

    /// Starts the current request head's deadline (once per head: later reads do not extend it,
    /// so a client that trickles a head byte by byte is cut off all the same).
    func armHeadDeadline() {
        headDeadlineArmed = true
        arm(after: ctx.config.requestHeadTimeoutNs)
    }

    /// Between requests: the head deadline when bytes of the next head are already buffered
    /// (pipelining), else the keep-alive idle timeout.
    func awaitNextRequest() {
        state = .readingHead
        headDeadlineArmed = false
        if down.isEmpty {
            arm(after: ctx.config.idleTimeoutNs)
        } else {
            armHeadDeadline()
        }
    }

    /// No deadline: the heap entry (if any) fires and finds none due (`timerFired`). Closing
    /// cancels it for real (`finishClose`): the timer holds its target unowned.
    func disarm() {
        deadlineNs = 0
    }

    /// Starts the body idle timeout of a request or response body (`bodyIdleTimeoutNs`).
    func armBodyTimer() {
        bodyActivityNs = ctx.loop.now
        arm(after: ctx.config.bodyIdleTimeoutNs)
    }

    /// Whether the body idle timeout ran out; otherwise it is re-armed from the last progress.
    private func bodyIdleExpired(now: UInt64) -> Bool {
        let idle = ctx.config.bodyIdleTimeoutNs
        guard idle > 0 else { return false }
        if now &- bodyActivityNs >= idle { return true }
        arm(bodyActivityNs + idle)
        return false
    }

    /// No request body byte moved for the body idle timeout: a client that stopped sending gets
    /// 408, an upstream that stopped taking the bytes 504; both close, the flow names that side.
    private func requestBodyTimerFired(now: UInt64) {
        guard bodyIdleExpired(now: now) else { return }
        let upstreamStuck = (!down.isEmpty || io.piped > 0) && !server.writable
        closeUpstream()
        let side: PeerSide = upstreamStuck ? .upstream : .downstream
        reply(status: upstreamStuck ? 504 : 408, close: true, failure: PeerClose(side: side, errno: ETIMEDOUT))
        // The answer is small; a client that does not read it either is closed soon.
        arm(after: 2_000_000_000)
    }

    /// No response body byte moved for the body idle timeout: the upstream went silent (nothing
    /// buffered for the client) or the client stopped reading (bytes wait for it). Both sides
    /// close; the flow keeps the response's status and names the stuck side.
    private func responseBodyTimerFired(now: UInt64) {
        guard bodyIdleExpired(now: now) else { return }
        let side: PeerSide = (!up.isEmpty || io.piped > 0) && !client.writable ? .downstream : .upstream
        closeUpstream()
        abort(PeerClose(side: side, errno: ETIMEDOUT), code: response.status)
    }

    // MARK: the driver

    /// Makes every step that can be made now.
    func drive() {
        var progress = true
        while progress {
            switch state {
            case .detecting, .readingHead: progress = stepReadHead()
            case .tlsHello: progress = stepTLSHello()
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

    // MARK: hand-off to HTTP/2

    /// Gives the socket and the unconsumed bytes (after `consumed`) to a new HTTP2Connection;
    /// this connection ends without closing the socket.
    func handOffToHTTP2(consumed: Int, upgrade: HTTP2Upgrade?) {
        releaseUpstream()
        finishClose()
        io.handOffToHTTP2(
            ctx: ctx, addresses: addresses, steer: steer,
            initial: UnsafeRawBufferPointer(rebasing: down.readable[consumed...]), upgrade: upgrade)
    }

    // MARK: close

    /// A peer's read or write failed, or it ended mid-exchange: the exchange's flow record gets
    /// `failure` (side and errno) and a response `code` (0 before any), then both sides close.
    func abort(_ failure: PeerClose, code: Int) {
        record.connectionFailed(failure, code: UInt16(truncatingIfNeeded: code))
        close()
    }

    func closeWithReset() {
        guard state != .closed else { return }
        releaseUpstream()
        io.closeClient(reset: true)
        finishClose()
    }

    /// Closes both sides. Idempotent.
    func close() {
        guard state != .closed else { return }
        releaseUpstream()
        io.closeClient(reset: false)
        finishClose()
    }

    private func finishClose() {
        state = .closed
        io.releasePipe()
        deadlineNs = 0
        scheduledNs = 0
        ctx.loop.cancel(timer)
        ctx.connectionCount -= 1
    }
}

/// The production connection: sockets on a worker loop.
typealias SocketHTTP1Connection = HTTP1Connection<SocketTransport>

extension HTTP1Connection where Transport == SocketTransport {
    /// A connection on the accepted socket `fd`.
    convenience init(ctx: WorkerContext, fd: Int32, addresses: ConnectionAddresses, steer: SteerInfo?) {
        self.init(
            ctx: ctx, transport: SocketTransport(ctx: ctx, fd: fd, addresses: addresses, steer: steer),
            addresses: addresses, steer: steer)
    }
}
