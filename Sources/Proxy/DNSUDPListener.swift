import DNS
import Policy
import SluiceIO

/// The transparent UDP listener of one worker (all workers' listeners form one SO_REUSEPORT
/// group; the sockmap slot SLUICE_SOCK_DNS_UDP holds the first). Each datagram carries the
/// client as its source and the server it was sent to in IP_ORIGDSTADDR; answers go back from
/// that server's address through a transparent reply socket (steering-recipe.md, "DNS over UDP").
///
/// Loop-thread only.
final class DNSUDPListener: EventHandler, DNSAnswerSink, WakeUpEndTarget {
    /// Reply sockets kept per worker before the cache is flushed (there are few DNS servers).
    static let maxReplySockets = 256
    /// Datagrams taken per recvmmsg.
    static let batchSize = 16

    unowned let worker: DNSWorker
    let fd: Int32
    /// The listener's own address: a query sent to it directly is answered through it.
    let localAddress: DNSEndpointAddress?
    private var registration: EventLoop.Registration = .none
    private let batch = DNSSocket.Batch(count: DNSUDPListener.batchSize, slotSize: DNSLimits.maxMessageSize)
    private var replySockets: [UInt64: Int32] = [:]
    /// The reply socket used last and its server's key: a worker answers for one or a few DNS
    /// servers, so most answers skip the dictionary (`UInt64.max` is no address:port key).
    private var lastReplyKey = UInt64.max
    private var lastReplyFD: Int32 = -1
    /// Answers of the current round, sent together when it ends (`closeRound`).
    private let outbox = DNSSocket.Outbox(capacity: DNSUDPListener.batchSize, arenaBytes: 32 * 1024)
    /// Open rounds (the wake-up's, `openWakeUpRound`); answers are queued while one is open and
    /// sent at once otherwise.
    private var rounds = 0
    /// The round of the current wake-up is open and closes when the loop has handled its events.
    private var wakeUpRoundOpen = false

    init(worker: DNSWorker, fd: Int32) {
        self.worker = worker
        self.fd = fd
        self.localAddress = DNSSocket.localAddress(fd)
    }

    deinit {
        for fd in replySockets.values { Socket.close(fd) }
    }

    func start() throws(SyscallError) {
        registration = try worker.ctx.loop.register(
            fd: fd, events: EventLoop.Events.readable | EventLoop.Events.edgeTriggered, handler: self, tag: 0,
            joinsWakeUpRound: true)
    }

    /// Reads every queued datagram (`DNSSocket.Batch.drain`); the queries forwarded in the
    /// wake-up's round leave together when it ends (`DNSForwarder.endBatch`: one sendmmsg), then
    /// its answers (one sendmmsg per reply socket).
    func handleEvents(_ events: UInt32, tag: UInt32) {
        let worker = self.worker  // one strong reference for the round, not one per use
        let closeHere = openWakeUpRound(worker: worker)
        let forwarder = worker.forwarder
        defer { if closeHere { closeRound() } }
        let received = batch.drain(fd) { bytes, d in
            guard !d.truncated, d.originalDestination.address != 0 else {
                worker.counters.ignored += 1
                return
            }
            handle(bytes, from: d.source, to: d.originalDestination, worker: worker, forwarder: forwarder)
        }
        worker.ctx.loop.noteDatagrams(received)
    }

    /// accept → steering entry → parse → decide → act for one datagram.
    private func handle(
        _ bytes: UnsafeMutableRawBufferPointer, from client: DNSEndpointAddress,
        to server: DNSEndpointAddress, worker: DNSWorker, forwarder: DNSForwarder?
    ) {
        let ctx = worker.ctx
        let steer = ctx.steering.lookup(
            sourceAddress: client.address, sourcePort: client.port,
            destinationAddress: server.address, destinationPort: server.port,
            protocol: IPProtocol.udp)
        let decision = DNSQueryDecision.decide(
            UnsafeRawBufferPointer(bytes), client: client, server: server,
            proto: IPProtocol.udp, steer: steer, snapshot: ctx.snapshot,
            reject: worker.config.rejectResponseCode, now: ctx.loop.now)
        guard let query = worker.act(on: decision, queryBytes: bytes, via: self, replyTo: client, server: server) else {
            return
        }
        let failure: PeerClose?
        switch forwarder?.forward(bytes, query: query) ?? .refused {
        case .sent: return
        case .refused: failure = nil
        case .failed(let sendFailure): failure = sendFailure
        }
        worker.serverFailure(for: query, queryBytes: UnsafeRawBufferPointer(bytes), via: self, failure: failure)
    }

    // MARK: DNSAnswerSink

    /// Queued while a round is open (a failure to send is counted when the round ends), sent at
    /// once otherwise (an answer released later by the FQDN gate). A failure names the client's
    /// side and the errno of the send (or of opening the reply socket).
    func sendAnswer(_ bytes: UnsafeRawBufferPointer, to query: DNSQuery) -> PeerClose? {
        let socket: Int32
        switch replySocket(from: query.server) {
        case .success(let fd): socket = fd
        case .failure(let error): return PeerClose(side: .downstream, errno: error.errno)
        }
        if rounds > 0 {
            if outbox.append(bytes, fd: socket, to: query.client) {
                if outbox.isFull { flush() }
                return nil
            }
            flush()
            if outbox.append(bytes, fd: socket, to: query.client) { return nil }
        }
        let errno = DNSSocket.send(socket, bytes, to: query.client)
        return errno == 0 ? nil : PeerClose(side: .downstream, errno: errno)
    }

    /// Opens the round of the loop's current wake-up unless it is open: what every DNS event of
    /// the wake-up sends (the listener's forwarded queries and its REFUSED replies, the answers read
    /// from any upstream socket) is queued and leaves when the loop has handled them all
    /// (`wakeUpEnded`; sooner when the wake-up also has an event of another kind, e.g. an HTTP
    /// connection's, which never waits for it): one sendmmsg upstream and one per reply socket
    /// for the wake-up, not one per event. Returns true when the loop is not handling events (a handler called directly):
    /// the caller then closes the round itself (`closeRound`) when it is done.
    /// `worker` is the caller's strong reference to `self.worker` (each use of the `unowned` one
    /// is a retain and a release).
    func openWakeUpRound(worker: DNSWorker) -> Bool {
        if wakeUpRoundOpen { return false }
        rounds += 1
        worker.forwarder?.beginBatch()
        if worker.ctx.loop.deferToWakeUpEnd(self) {
            wakeUpRoundOpen = true
            return false
        }
        return true
    }

    /// Closes a round: the queued queries leave, then (when no other round is open) the answers.
    func closeRound() {
        let worker = self.worker
        worker.forwarder?.endBatch()
        rounds -= 1
        if rounds == 0 { flush() }
    }

    func wakeUpEnded() {
        wakeUpRoundOpen = false
        closeRound()
    }

    private func flush() {
        guard outbox.count > 0 else { return }
        worker.counters.replyFailures += outbox.flush()
    }

    /// The socket that sends from `server`: the listener itself for its own address, else a
    /// cached transparent socket bound to `server`.
    private func replySocket(from server: DNSEndpointAddress) -> Result<Int32, SyscallError> {
        if server == localAddress { return .success(fd) }
        let key = server.key
        if key == lastReplyKey { return .success(lastReplyFD) }
        if let fd = replySockets[key] {
            (lastReplyKey, lastReplyFD) = (key, fd)
            return .success(fd)
        }
        if replySockets.count >= Self.maxReplySockets {
            flush()  // queued answers name the sockets about to close
            for fd in replySockets.values { Socket.close(fd) }
            replySockets.removeAll()
            (lastReplyKey, lastReplyFD) = (UInt64.max, -1)
        }
        do {
            let fd = try DNSSocket.replySocket(from: server)
            replySockets[key] = fd
            (lastReplyKey, lastReplyFD) = (key, fd)
            return .success(fd)
        } catch {
            return .failure(error)
        }
    }
}
