internal import CSluice
import DNS
import SluiceIO

/// Sends the allowed UDP queries of one worker to their servers and matches the answers.
///
/// Queries leave from a rotating pool of unbound UDP sockets, each datagram with SO_MARK
/// `SLUICE_MARK_FROM_PROXY` and its client's identity (a per-datagram control message: never
/// steered back, and a DNS server pod's ingress policy sees who asked), each on a port the kernel
/// picks at random: every round of the listener (the queries of one readiness event) goes out on
/// a socket drawn at random from `upstreamSocketPoolSize`, in one sendmmsg (`beginBatch` /
/// `endBatch`), so the answers of a round come back on one socket and are read and relayed
/// together too; a socket that has sent `upstreamSocketMaxQueries` is replaced by a fresh one
/// (fresh port) at the end of its round and closed once its last query is answered or timed
/// out. Each query gets an ID from the worker's `DNSRandom` unused among its queries in flight
/// (Cilium sends with a fresh ID too); the pending table maps it to the query. An answer must
/// arrive on the socket the query left from, from the server it went to, and carry the query's
/// question (`DNSQuery.isAnswered`). A query unanswered after `forwardTimeoutNs` is forgotten:
/// no answer, no flow, only counted (Cilium writes no access log on timeout either). Many
/// queries are in flight at once; nothing waits for any one server.
///
/// Loop-thread only.
final class DNSForwarder: EventHandler, TimerTarget {
    /// One upstream socket: its port is the kernel's ephemeral choice at the first send.
    private final class Upstream {
        let fd: Int32
        let tag: UInt32
        var registration: EventLoop.Registration = .none
        /// Queries sent from it (it is replaced at `upstreamSocketMaxQueries`).
        var sent = 0
        /// Queries sent from it and still waiting.
        var inFlight = 0
        /// Replaced in the pool: closed when `inFlight` reaches 0.
        var retired = false

        init(fd: Int32, tag: UInt32) {
            self.fd = fd
            self.tag = tag
        }
    }

    private struct Pending {
        var query: DNSQuery
        var upstream: DNSEndpointAddress
        var deadline: UInt64
        /// Tag of the socket it left from.
        var socket: UInt32
    }

    unowned let worker: DNSWorker
    private var pending = DNSPendingTable<Pending>()
    /// (ID, deadline) in send order = deadline order (constant timeout).
    private var order: [(id: UInt16, deadline: UInt64)] = []
    private var orderStart = 0
    private var wakeup = EarliestDeadline()
    private let batch = DNSSocket.Batch(count: DNSUDPListener.batchSize, slotSize: DNSLimits.maxMessageSize)
    /// Every open upstream socket by its event tag, retired ones included.
    private var sockets: [UInt32: Upstream] = [:]
    /// The sockets new queries leave from.
    private var pool: [Upstream] = []
    private var nextTag: UInt32 = 0
    /// Open while the listener reads a round of queries: they are queued in `outgoing` and sent
    /// together on `roundSocket` when it ends.
    private var batching = false
    private var roundSocket: Upstream?
    private var roundSocketIndex = 0
    private let outgoing = QueryOutbox(capacity: DNSForwarder.maxBatch, arenaBytes: 64 * 1024)

    /// Most queries sent in one sendmmsg.
    static let maxBatch = 64

    init(worker: DNSWorker) throws(SyscallError) {
        self.worker = worker
    }

    deinit {
        for socket in sockets.values { Socket.close(socket.fd) }
    }

    /// Queries in flight.
    var inFlight: Int { pending.count }

    /// Open upstream sockets (for tests): the pool plus retired ones still awaiting answers.
    var openSockets: Int { sockets.count }

    /// Opens the pool (at least one socket, else the error).
    func start() throws(SyscallError) {
        let size = max(1, worker.config.upstreamSocketPoolSize)
        for i in 0..<size {
            do {
                pool.append(try openSocket())
            } catch {
                if i == 0 { throw error }
                break
            }
        }
    }

    private func openSocket() throws(SyscallError) -> Upstream {
        let fd = try DNSSocket.upstreamSocket(mark: ProxyMarks.fromProxy(identity: 0))
        nextTag &+= 1
        let socket = Upstream(fd: fd, tag: nextTag)
        do {
            socket.registration = try worker.ctx.loop.register(
                fd: fd, events: EventLoop.Events.readable | EventLoop.Events.edgeTriggered, handler: self,
                tag: socket.tag, joinsWakeUpRound: true)
        } catch {
            Socket.close(fd)
            throw error
        }
        sockets[socket.tag] = socket
        return socket
    }

    /// Closes a socket of the pool. Its registration is forgotten, not deleted: the socket was
    /// never duplicated, so closing it removes it from epoll, and the rotation (one socket per
    /// `upstreamSocketMaxQueries` queries) spends no `EPOLL_CTL_DEL`.
    private func closeSocket(_ socket: Upstream) {
        worker.ctx.loop.forget(socket.registration)
        Socket.close(socket.fd)
        sockets[socket.tag] = nil
    }

    /// After a query of `socket` is answered or given up: a retired socket with nothing left in
    /// flight is closed (never from inside its own drain: the caller says when).
    private func release(_ tag: UInt32, closeNow: Bool) {
        guard let socket = sockets[tag] else { return }
        socket.inFlight -= 1
        if closeNow && socket.retired && socket.inFlight <= 0 { closeSocket(socket) }
    }

    /// What became of a query handed to `forward`.
    enum Forwarded: Equatable {
        case sent
        /// Not sent: too many in flight, or no upstream socket.
        case refused
        /// The send failed: the upstream side and its errno.
        case failed(PeerClose)
    }

    /// Sends `bytes` (rewritten in place with a fresh ID) for `query`, or queues a copy until the
    /// round ends (`endBatch`). When it is not sent the caller answers SERVFAIL (with the send's
    /// failure in the flow record); a queued query whose send fails later is answered SERVFAIL by
    /// `endBatch`.
    func forward(_ bytes: UnsafeMutableRawBufferPointer, query: DNSQuery) -> Forwarded {
        let worker = self.worker  // one strong reference for the whole call, not one per use
        guard pending.count < min(worker.config.maxPendingPerWorker, DNSPendingTable<Pending>.capacity), !pool.isEmpty
        else { return .refused }
        let id = worker.random.id { pending.contains($0) }
        DNSWire.setID(id, in: bytes)
        let upstream = worker.upstream(for: query)
        let socket: Upstream
        if let chosen = roundSocket {
            socket = chosen
        } else {
            roundSocketIndex = worker.random.below(pool.count)
            socket = pool[roundSocketIndex]
        }
        let mark = ProxyMarks.upstream(for: query.steer)
        let queued: Bool
        if batching {
            roundSocket = socket
            if outgoing.append(UnsafeRawBufferPointer(bytes), to: upstream, mark: mark, id: id) {
                queued = true
            } else {
                sendQueued()
                roundSocket = socket
                queued = outgoing.append(UnsafeRawBufferPointer(bytes), to: upstream, mark: mark, id: id)
            }
        } else {
            queued = false
        }
        if !queued {
            let errno = DNSSocket.send(socket.fd, UnsafeRawBufferPointer(bytes), to: upstream, mark: mark)
            guard errno == 0 else {
                DNSWire.setID(query.originalID, in: bytes)
                return .failed(PeerClose(side: .upstream, errno: errno))
            }
        }
        socket.sent += 1
        socket.inFlight += 1
        let loop = worker.ctx.loop
        let deadline = loop.now + worker.config.forwardTimeoutNs
        pending.insert(Pending(query: query, upstream: upstream, deadline: deadline, socket: socket.tag), for: id)
        order.append((id, deadline))
        if order.count - orderStart > 2 * pending.count + Self.deadlineSlack { compactDeadlines() }
        wakeup.arm(deadline, on: loop, for: self)
        if !batching, socket.sent >= worker.config.upstreamSocketMaxQueries { rotate(roundSocketIndex, socket) }
        return .sent
    }

    /// Opens a round: queries are queued until `endBatch`.
    func beginBatch() { batching = true }

    /// Ends the round: sends the queued queries.
    func endBatch() {
        sendQueued()
        batching = false
    }

    /// Sends `outgoing` on the round's socket (one sendmmsg, more only when the kernel takes part
    /// of them); a query whose send fails is forgotten and answered SERVFAIL with the errno.
    private func sendQueued() {
        guard let socket = roundSocket else { return }
        roundSocket = nil
        outgoing.send(on: socket.fd) { id, bytes, errno in
            guard let entry = pending.removeValue(for: id) else { return }
            release(entry.socket, closeNow: false)
            guard let udp = worker.udp else { return }
            DNSWire.setID(entry.query.originalID, in: bytes)
            worker.serverFailure(
                for: entry.query, queryBytes: UnsafeRawBufferPointer(bytes), via: udp,
                failure: PeerClose(side: .upstream, errno: errno))
        }
        if socket.sent >= worker.config.upstreamSocketMaxQueries, pool.indices.contains(roundSocketIndex),
            pool[roundSocketIndex] === socket
        {
            rotate(roundSocketIndex, socket)
        } else if socket.retired && socket.inFlight <= 0 {
            closeSocket(socket)
        }
    }

    /// Deadlines kept beyond twice the queries in flight before the answered ones are dropped.
    static let deadlineSlack = 1024

    /// Deadlines queued (for tests): bounded by about twice the queries in flight.
    var queuedDeadlines: Int { order.count - orderStart }

    /// Drops the deadlines of queries already answered (or timed out and reused), keeping the
    /// order. Amortised O(1) per query: it runs after more than `deadlineSlack` appends.
    private func compactDeadlines() {
        order = order[orderStart...].filter { entry in
            pending.position(of: entry.id).map { pending[position: $0].deadline == entry.deadline } ?? false
        }
        orderStart = 0
    }

    /// Replaces the pool's socket at `index` (`old`) with a fresh one (a new random port). The old
    /// one stays open for its queries in flight. When no socket can be opened (fd limit), the old
    /// one serves another round.
    private func rotate(_ index: Int, _ old: Upstream) {
        guard pool.indices.contains(index), pool[index] === old else { return }
        guard let fresh = try? openSocket() else {
            old.sent = 0
            return
        }
        pool[index] = fresh
        old.retired = true
        if old.inFlight <= 0 { closeSocket(old) }
    }

    // MARK: answers

    /// Reads every queued answer (`DNSSocket.Batch.drain`); the answers to clients go out
    /// together when the wake-up's round ends (`DNSUDPListener.openWakeUpRound`).
    func handleEvents(_ events: UInt32, tag: UInt32) {
        guard let socket = sockets[tag] else { return }
        let worker = self.worker
        let udp = worker.udp
        let closeHere = udp?.openWakeUpRound(worker: worker) ?? false
        defer { if closeHere { udp?.closeRound() } }
        let count = batch.drain(socket.fd) { bytes, d in received(bytes, from: d.source, on: tag, worker: worker) }
        worker.ctx.loop.noteDatagrams(count)
        if socket.retired && socket.inFlight <= 0 { closeSocket(socket) }
    }

    private func received(
        _ bytes: UnsafeMutableRawBufferPointer, from source: DNSEndpointAddress, on socket: UInt32,
        worker: DNSWorker
    ) {
        // Checked in place (one table load; the entry is moved out, not copied, once it matches).
        guard let id = DNSWire.id(of: UnsafeRawBufferPointer(bytes)), let index = pending.position(of: id),
            pending[position: index].upstream == source, pending[position: index].socket == socket
        else {
            worker.counters.unmatchedAnswers += 1
            return
        }
        guard pending[position: index].query.isAnswered(by: UnsafeRawBufferPointer(bytes)) else {
            worker.counters.mismatchedAnswers += 1
            return
        }
        let entry = pending.remove(at: index)
        release(socket, closeNow: false)
        guard let udp = worker.udp else { return }
        worker.answer(bytes, for: entry.query, via: udp)
    }

    // MARK: timeouts

    func timerFired(now: UInt64) {
        wakeup.fired()
        while orderStart < order.count {
            let (id, deadline) = order[orderStart]
            if deadline > now {
                arm(deadline)
                break
            }
            orderStart += 1
            // The ID may have been answered and reused since: only a matching deadline expires.
            if let index = pending.position(of: id), pending[position: index].deadline == deadline {
                let entry = pending.remove(at: index)
                worker.counters.timeouts += 1
                release(entry.socket, closeNow: true)
            }
        }
        if orderStart == order.count || orderStart > 4096 {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    private func arm(_ at: UInt64) { wakeup.arm(at, on: worker.ctx.loop, for: self) }
}

/// The queries of one round, copied into one arena and sent with one sendmmsg, each with its own
/// destination and SO_MARK (`CSluice_udp_send4_batch_mark`). Loop-thread only.
private final class QueryOutbox: DatagramBatch {
    private let marks: UnsafeMutablePointer<UInt32>
    private let ids: UnsafeMutablePointer<UInt16>

    override init(capacity: Int, arenaBytes: Int) {
        marks = .allocate(capacity: DatagramBatch.slots(capacity))
        ids = .allocate(capacity: DatagramBatch.slots(capacity))
        super.init(capacity: capacity, arenaBytes: arenaBytes)
    }

    deinit {
        marks.deallocate()
        ids.deallocate()
    }

    /// Queues a copy of `bytes`; false when it does not fit (the caller sends what is queued and
    /// tries again, or sends it alone).
    func append(_ bytes: UnsafeRawBufferPointer, to destination: DNSEndpointAddress, mark: UInt32, id: UInt16) -> Bool {
        let slot = count
        guard appendDatagram(bytes, to: destination) else { return false }
        marks[slot] = mark
        ids[slot] = id
        return true
    }

    /// Sends everything queued on `fd`; `failed` gets the ID, the bytes and the errno of each
    /// datagram the kernel refused (the rest are still tried).
    func send(on fd: Int32, failed: (UInt16, UnsafeMutableRawBufferPointer, Int32) -> Void) {
        var next = 0
        while next < count {
            let n = CSluice_udp_send4_batch_mark(fd, messages + next, marks + next, Int32(count - next))
            if n > 0 {
                next += Int(n)
            } else {
                let m = messages[next]
                let bytes = UnsafeMutableRawBufferPointer(
                    start: UnsafeMutableRawPointer(mutating: m.base), count: Int(m.length))
                failed(ids[next], bytes, -n)
                next += 1
            }
        }
        removeAll()
    }
}
