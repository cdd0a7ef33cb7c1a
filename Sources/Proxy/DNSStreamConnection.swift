import DNS
import Glibc
import Policy
import SluiceIO

/// One DNS-over-TCP client connection (RFC 7766) and its upstream connection to the original
/// server, on one worker loop. Queries may be pipelined: each is decided on its own, allowed ones
/// go upstream with a fresh ID over one connection opened at the first allowed query, and answers
/// return in whatever order the server sends them.
///
/// Phases per message: read → frame → parse → decide → act (forward, REFUSED/NXDOMAIN, FORMERR,
/// drop) → relay → record. Unanswered queries are forgotten after the forward timeout (counted);
/// a connection with nothing in flight closes after `tcpIdleTimeoutNs`. Loop-thread only.
final class DNSStreamConnection: EventHandler, TimerTarget, DNSAnswerSink {
    private enum Tag {
        static let downstream: UInt32 = 0
        static let upstream: UInt32 = 1
    }

    unowned let listener: DNSTCPListener
    private var worker: DNSWorker { listener.worker }
    let client: DNSEndpointAddress
    let server: DNSEndpointAddress
    let steer: SteerInfo?

    private let downFD: Int32
    private var downReg: EventLoop.Registration = .none
    private var upFD: Int32 = -1
    private var upReg: EventLoop.Registration = .none
    private var upConnected = false
    private var downFramer: DNSTCPFramer
    private var upFramer: DNSTCPFramer
    /// Framed bytes waiting for each socket to become writable.
    private var toClient: [UInt8] = []
    private var toServer: [UInt8] = []
    private var pending: [UInt16: (query: DNSQuery, deadline: UInt64)] = [:]
    private var lastActivity: UInt64 = 0
    private var wakeup = EarliestDeadline()
    private var clientClosed = false
    /// The client's write failed: answers for it are lost, their flows say why.
    private var clientFailure: PeerClose?
    private(set) var closed = false
    /// Reading the client's queries stopped (`mustPause`); resumed by the next event.
    private var paused = false

    init(
        listener: DNSTCPListener, fd: Int32, client: DNSEndpointAddress, server: DNSEndpointAddress,
        steer: SteerInfo?
    ) {
        self.listener = listener
        self.downFD = fd
        self.client = client
        self.server = server
        self.steer = steer
        let limit = listener.worker.config.tcpMaxMessageSize
        downFramer = DNSTCPFramer(maxMessageSize: limit)
        upFramer = DNSTCPFramer(maxMessageSize: limit)
    }

    func start() {
        do {
            downReg = try worker.ctx.loop.register(
                fd: downFD, events: Self.interest, handler: self, tag: Tag.downstream)
        } catch {
            Socket.close(downFD)
            closed = true
            return
        }
        worker.tcpConnections += 1
        lastActivity = worker.ctx.loop.now
        arm(lastActivity + worker.config.tcpIdleTimeoutNs)
        readClient()
    }

    private static let interest =
        EventLoop.Events.readable | EventLoop.Events.writable
        | EventLoop.Events.readHangup | EventLoop.Events.edgeTriggered

    func handleEvents(_ events: UInt32, tag: UInt32) {
        guard !closed else { return }
        if tag == Tag.downstream {
            _ = flushClient()
            readClient()
        } else {
            if !upConnected {
                let error = Socket.pendingError(upFD)
                guard error == 0 else { return upstreamFailed(PeerClose(side: .upstream, errno: error)) }
                upConnected = true
            }
            flushServer()
            readServer()
            if paused { readClient() }
        }
        finishIfDone()
    }

    // MARK: client side: read → frame → decide → act

    /// Too many answers wait for the client, too many of its queries are in flight, or too many
    /// query bytes wait for an upstream that does not read: its queries stay unread (in the
    /// framer and the socket) until that changes. Both output buffers are thus bounded by
    /// `tcpMaxBufferedBytes` plus one message.
    private var mustPause: Bool {
        toClient.count > worker.config.tcpMaxBufferedBytes || toServer.count > worker.config.tcpMaxBufferedBytes
            || pending.count >= worker.config.tcpMaxQueriesInFlight
    }

    private func readClient() {
        paused = false
        guard takeClientMessages() else { return close() }
        while !closed && !clientClosed {
            if mustPause {
                paused = true
                worker.counters.tcpPauses += 1
                return
            }
            switch Socket.readStep(downFD, into: listener.scratch, side: .downstream) {
            case .progress(let n):
                lastActivity = worker.ctx.loop.now
                downFramer.append(UnsafeRawBufferPointer(rebasing: listener.scratch[0..<n]))
                guard takeClientMessages() else { return close() }
            case .blocked:
                return
            case .closed:
                clientClosed = true
            }
        }
    }

    /// Decides every complete message; false on a framing error (the stream is unusable).
    private func takeClientMessages() -> Bool {
        while !closed && !mustPause {
            let next: [UInt8]?
            do {
                next = try downFramer.nextMessage()
            } catch {
                return false
            }
            guard var message = next else { return true }
            message.withUnsafeMutableBytes { decideAndAct($0) }
        }
        return true
    }

    private func decideAndAct(_ bytes: UnsafeMutableRawBufferPointer) {
        let decision = DNSQueryDecision.decide(
            UnsafeRawBufferPointer(bytes), client: client, server: server,
            proto: IPProtocol.tcp, steer: steer, snapshot: worker.ctx.snapshot,
            reject: worker.config.rejectResponseCode, now: worker.ctx.loop.now)
        if case .drop = decision { clientClosed = true }
        guard let query = worker.act(on: decision, queryBytes: bytes, via: self, replyTo: client, server: server) else {
            return
        }
        guard pending.count < worker.config.maxPendingPerWorker,
            let framed = DNSTCPFramer.frame(UnsafeRawBufferPointer(bytes))
        else {
            return worker.serverFailure(for: query, queryBytes: UnsafeRawBufferPointer(bytes), via: self)
        }
        if let failure = connectUpstreamIfNeeded() {
            return worker.serverFailure(
                for: query, queryBytes: UnsafeRawBufferPointer(bytes), via: self, failure: failure)
        }
        let id = worker.random.id { pending[$0] != nil }
        toServer.append(contentsOf: framed)
        toServer[toServer.count - bytes.count] = UInt8(id >> 8)
        toServer[toServer.count - bytes.count + 1] = UInt8(id & 0xFF)
        let deadline = worker.ctx.loop.now + worker.config.forwardTimeoutNs
        pending[id] = (query, deadline)
        arm(deadline)
        if upConnected { flushServer() }
    }

    // MARK: server side

    /// Opens the upstream connection unless it is open; the failure (side and errno) when it
    /// cannot be started.
    private func connectUpstreamIfNeeded() -> PeerClose? {
        if upFD >= 0 { return nil }
        let upstream = worker.config.upstreamOverride ?? server
        do {
            upFD = try Socket.connectTCP(
                address: upstream.address, port: upstream.port,
                mark: ProxyMarks.upstream(for: steer))
            upReg = try worker.ctx.loop.register(fd: upFD, events: Self.interest, handler: self, tag: Tag.upstream)
        } catch {
            if upFD >= 0 { Socket.close(upFD) }
            upFD = -1
            return PeerClose(side: .upstream, errno: error.errno)
        }
        upConnected = false
        upFramer = DNSTCPFramer(maxMessageSize: worker.config.tcpMaxMessageSize)
        return nil
    }

    private func readServer() {
        while upFD >= 0 {
            switch Socket.readStep(upFD, into: listener.scratch, side: .upstream) {
            case .progress(let n):
                upFramer.append(UnsafeRawBufferPointer(rebasing: listener.scratch[0..<n]))
                takeServerMessages()
            case .blocked:
                return
            case .closed(let failure):
                return upstreamFailed(failure)
            }
        }
    }

    private func takeServerMessages() {
        while upFD >= 0 {
            let next: [UInt8]?
            do {
                next = try upFramer.nextMessage()
            } catch {
                // The server's framing is broken: the stream cannot be read on.
                return upstreamFailed(PeerClose(side: .upstream, errno: EPROTO))
            }
            guard var message = next else { return }
            guard let id = message.withUnsafeBytes({ DNSWire.id(of: $0) }), let entry = pending[id] else {
                worker.counters.unmatchedAnswers += 1
                continue
            }
            guard message.withUnsafeBytes({ entry.query.isAnswered(by: $0) }) else {
                worker.counters.mismatchedAnswers += 1
                continue
            }
            pending[id] = nil
            lastActivity = worker.ctx.loop.now
            message.withUnsafeMutableBytes { worker.answer($0, for: entry.query, via: self) }
        }
    }

    /// The upstream refused, reset or closed (`failure`: its side and errno): SERVFAIL for every
    /// query still in flight, each response flow carrying the failure.
    private func upstreamFailed(_ failure: PeerClose) {
        let failed = pending.values.map(\.query)
        pending.removeAll()
        closeUpstream()
        for query in failed { worker.serverFailure(for: query, via: self, failure: failure) }
        finishIfDone()
    }

    private func closeUpstream() {
        guard upFD >= 0 else { return }
        worker.ctx.loop.deregister(fd: upFD, registration: upReg)
        Socket.close(upFD)
        upFD = -1
        upReg = .none
        upConnected = false
        toServer.removeAll()
    }

    // MARK: DNSAnswerSink

    func sendAnswer(_ bytes: UnsafeRawBufferPointer, to query: DNSQuery) -> PeerClose? {
        if let failure = clientFailure { return failure }
        guard !closed else { return PeerClose(side: .downstream, errno: 0) }
        guard let framed = DNSTCPFramer.frame(bytes) else { return PeerClose(side: .downstream, errno: EMSGSIZE) }
        let limit = worker.config.tcpMaxBufferedBytes + worker.config.tcpMaxMessageSize + 2
        if toClient.count + framed.count > limit, let failure = flushClient() { return failure }
        guard toClient.count + framed.count <= limit else {
            // The client pipelines and does not read: it loses the connection, not our memory.
            worker.counters.tcpOverflowCloses += 1
            close()
            return PeerClose(side: .downstream, errno: ENOBUFS)
        }
        toClient.append(contentsOf: framed)
        return flushClient()
    }

    /// Writes as much of the answers as the client takes; its failure (kept: later answers
    /// cannot reach it either) when the write failed.
    private func flushClient() -> PeerClose? {
        if case .closed(let failure) = Self.flush(downFD, &toClient, side: .downstream) {
            clientFailure = failure
            clientClosed = true
        }
        return clientFailure
    }

    /// Writes as much of the queries as the server takes; a failed write fails the upstream.
    private func flushServer() {
        if case .closed(let failure) = Self.flush(upFD, &toServer, side: .upstream) { upstreamFailed(failure) }
    }

    /// One write step of `out` (`.progress` also when nothing was to be written); a closed
    /// peer's bytes are dropped.
    private static func flush(_ fd: Int32, _ out: inout [UInt8], side: PeerSide) -> IOStep {
        guard fd >= 0, !out.isEmpty else { return .progress(0) }
        let step = out.withUnsafeBytes { Socket.writeStep(fd, $0, side: side) }
        switch step {
        case .progress(let n): out.removeFirst(n)
        case .blocked: break
        case .closed: out.removeAll()
        }
        return step
    }

    // MARK: timers and close

    func timerFired(now: UInt64) {
        wakeup.fired()
        guard !closed else { return }
        var next = lastActivity + worker.config.tcpIdleTimeoutNs
        for (id, entry) in pending {
            if entry.deadline <= now {
                pending[id] = nil
                worker.counters.timeouts += 1
            } else {
                next = min(next, entry.deadline)
            }
        }
        if pending.isEmpty && now >= lastActivity + worker.config.tcpIdleTimeoutNs { return close() }
        arm(max(next, now + 1_000_000))
        if paused { readClient() }
    }

    private func arm(_ at: UInt64) { wakeup.arm(at, on: worker.ctx.loop, for: self) }

    /// The client finished sending and every answer went out (or nothing is left to wait for).
    private func finishIfDone() {
        if clientClosed && pending.isEmpty && toClient.isEmpty && (worker.gate?.heldCount ?? 0) == 0 { close() }
    }

    func close() {
        guard !closed else { return }
        closed = true
        worker.tcpConnections -= 1
        closeUpstream()
        worker.ctx.loop.deregister(fd: downFD, registration: downReg)
        Socket.close(downFD)
    }
}
