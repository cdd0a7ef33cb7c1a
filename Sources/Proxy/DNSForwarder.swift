import DNS
import SluiceIO

/// Sends the allowed UDP queries of one worker to their servers and matches the answers.
///
/// One unbound UDP socket; each query leaves with SO_MARK `SLUICE_MARK_FROM_PROXY` and its
/// client's identity (a per-datagram control message: never steered back, and a DNS server pod's
/// ingress policy sees who asked). Each query gets a fresh
/// random ID unused among this worker's queries in flight (Cilium sends with a fresh ID too); the
/// pending table maps it to the query. An answer must come from the server the query went to.
/// A query unanswered after `forwardTimeoutNs` is forgotten: no answer, no flow, only counted
/// (Cilium writes no access log on timeout either). Many queries are in flight at once; nothing
/// waits for any one server.
///
/// Loop-thread only.
final class DNSForwarder: EventHandler, TimerTarget {
    private struct Pending {
        var query: DNSQuery
        var upstream: DNSEndpointAddress
        var deadline: UInt64
    }

    unowned let worker: DNSWorker
    let fd: Int32
    private var registration: EventLoop.Registration = .none
    private var pending: [UInt16: Pending] = [:]
    /// (ID, deadline) in send order = deadline order (constant timeout).
    private var order: [(id: UInt16, deadline: UInt64)] = []
    private var orderStart = 0
    private var timerArmedAt: UInt64 = 0
    private var random: UInt64
    private let batch = DNSSocket.Batch(count: DNSUDPListener.batchSize, slotSize: DNSLimits.maxMessageSize)

    init(worker: DNSWorker) throws(SyscallError) {
        self.worker = worker
        fd = try DNSSocket.upstreamSocket(mark: ProxyMarks.fromProxy(identity: 0))
        var seed: UInt64 = 0
        var generator = SystemRandomNumberGenerator()
        while seed == 0 { seed = generator.next() }
        random = seed
    }

    deinit {
        Socket.close(fd)
    }

    /// Queries in flight.
    var inFlight: Int { pending.count }

    func start() throws(SyscallError) {
        registration = try worker.ctx.loop.register(
            fd: fd, events: EventLoop.Events.readable | EventLoop.Events.edgeTriggered, handler: self, tag: 0)
    }

    /// Sends `bytes` (rewritten in place with a fresh ID) for `query`. False when it cannot be
    /// sent (too many in flight, socket error): the caller answers SERVFAIL.
    func forward(_ bytes: UnsafeMutableRawBufferPointer, query: DNSQuery) -> Bool {
        guard pending.count < worker.config.maxPendingPerWorker else { return false }
        let id = freshID()
        DNSWire.setID(id, in: bytes)
        let upstream = worker.upstream(for: query)
        let mark = query.steer?.upstreamMark ?? ProxyMarks.fromProxy(identity: 0)
        guard DNSSocket.send(fd, UnsafeRawBufferPointer(bytes), to: upstream, mark: mark) == 0 else { return false }
        let deadline = worker.ctx.loop.now + worker.config.forwardTimeoutNs
        pending[id] = Pending(query: query, upstream: upstream, deadline: deadline)
        order.append((id, deadline))
        if order.count - orderStart > 2 * pending.count + Self.deadlineSlack { compactDeadlines() }
        arm(deadline)
        return true
    }

    /// Deadlines kept beyond twice the queries in flight before the answered ones are dropped.
    static let deadlineSlack = 1024

    /// Deadlines queued (for tests): bounded by about twice the queries in flight.
    var queuedDeadlines: Int { order.count - orderStart }

    /// Drops the deadlines of queries already answered (or timed out and reused), keeping the
    /// order. Amortised O(1) per query: it runs after more than `deadlineSlack` appends.
    private func compactDeadlines() {
        order = order[orderStart...].filter { pending[$0.id]?.deadline == $0.deadline }
        orderStart = 0
    }

    /// An ID not in flight: xorshift64* from a random seed, retried on collision.
    private func freshID() -> UInt16 {
        while true {
            random ^= random >> 12
            random ^= random << 25
            random ^= random >> 27
            let id = UInt16(truncatingIfNeeded: (random &* 0x2545_F491_4F6C_DD1D) >> 48)
            if pending[id] == nil { return id }
        }
    }

    // MARK: answers

    /// Reads every queued answer (`DNSSocket.Batch.drain`); the answers to clients go out
    /// together when the round ends.
    func handleEvents(_ events: UInt32, tag: UInt32) {
        let udp = worker.udp
        udp?.beginRound()
        defer { udp?.endRound() }
        batch.drain(fd) { bytes, d in received(bytes, from: d.source) }
    }

    private func received(_ bytes: UnsafeMutableRawBufferPointer, from source: DNSEndpointAddress) {
        guard let id = DNSWire.id(of: UnsafeRawBufferPointer(bytes)), let entry = pending[id],
              entry.upstream == source, DNSWire.isResponse(UnsafeRawBufferPointer(bytes)) == true
        else {
            worker.counters.unmatchedAnswers += 1
            return
        }
        pending[id] = nil
        guard let udp = worker.udp else { return }
        worker.answer(bytes, for: entry.query, via: udp)
    }

    // MARK: timeouts

    func timerFired(now: UInt64) {
        timerArmedAt = 0
        while orderStart < order.count {
            let (id, deadline) = order[orderStart]
            if deadline > now {
                arm(deadline)
                break
            }
            orderStart += 1
            // The ID may have been answered and reused since: only a matching deadline expires.
            if let entry = pending[id], entry.deadline == deadline {
                pending[id] = nil
                worker.counters.timeouts += 1
            }
        }
        if orderStart == order.count || orderStart > 4096 {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    private func arm(_ at: UInt64) {
        if timerArmedAt == 0 || at < timerArmedAt {
            timerArmedAt = at
            worker.ctx.loop.schedule(at: at, self)
        }
    }
}
