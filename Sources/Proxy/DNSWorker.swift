import DNS
import Flows
import Policy
import SluiceIO
import SluiceModel

/// Where an answer for a query goes back to: the UDP listener (a datagram from the original
/// server's address) or the client's TCP connection (a framed message).
protocol DNSAnswerSink: AnyObject {
    /// Sends `bytes` (ID already restored) to the client of `query`: nil when it went (or is
    /// queued), else why not (the client's side and the errno) for the response flow.
    func sendAnswer(_ bytes: UnsafeRawBufferPointer, to query: DNSQuery) -> PeerClose?
}

/// The DNS proxy of one worker loop: its UDP listener and upstream forwarder, its TCP listener,
/// the answers it holds for toFQDNs learning, its counters and flow recorder.
///
/// Loop-thread only; created and started by `ProxyServer` on the thread that starts the loop,
/// before the loop runs.
final class DNSWorker {
    let ctx: WorkerContext
    let config: DNSProxyConfig
    let service: FQDNLearning?
    let counters = DNSCounters()
    /// Query IDs and upstream socket choice for UDP and TCP alike.
    let random = DNSRandom()
    let recorder: DNSFlowRecorder
    let gate: FQDNAnswerGate?
    /// The addresses of the answer being relayed (`AnswerScan`); its capacity is reused.
    private var answerIPs: [IPAddress] = []
    private(set) var udp: DNSUDPListener?
    private(set) var forwarder: DNSForwarder?
    private(set) var tcp: DNSTCPListener?
    /// Open DNS-over-TCP client connections of this worker.
    var tcpConnections = 0
    /// This worker's share of `DNSProxyConfig.tcpMaxConnections`.
    var tcpConnectionShare: Int { max(1, config.tcpMaxConnections / max(1, ctx.config.workers)) }

    init(ctx: WorkerContext, config: DNSProxyConfig, service: FQDNLearning?) {
        self.ctx = ctx
        self.config = config
        self.service = service
        recorder = DNSFlowRecorder(flows: ctx.flows, recording: ctx.recording)
        gate = service.map { FQDNAnswerGate(loop: ctx.loop, service: $0, maxDelayNs: config.fqdnResponseMaxDelayNs) }
    }

    /// Registers the listeners (either may be -1 = none) and opens the upstream socket.
    func start(udpFD: Int32, tcpFD: Int32) throws(SyscallError) {
        if udpFD >= 0 {
            let forwarder = try DNSForwarder(worker: self)
            let listener = DNSUDPListener(worker: self, fd: udpFD)
            try forwarder.start()
            try listener.start()
            self.forwarder = forwarder
            self.udp = listener
            ctx.loop.gatherWindowNs = config.udpGatherWindowNs
        }
        if tcpFD >= 0 {
            let listener = DNSTCPListener(worker: self, fd: tcpFD)
            try listener.start()
            tcp = listener
        }
    }

    /// Where allowed queries of `query` go: the original destination, or the override.
    func upstream(for query: DNSQuery) -> DNSEndpointAddress {
        config.upstreamOverride ?? query.server
    }

    // MARK: answer → learn → release → record

    /// The answer phase shared by UDP and TCP: restore the client's ID, check and summarise the
    /// answer on the wire (`AnswerScan`: what `DNSParser` rejects is answered SERVFAIL), and either
    /// send at once or hold until the IPs of a toFQDNs name are in the datapath. Writes the
    /// response flow when the answer is sent.
    func answer(_ bytes: UnsafeMutableRawBufferPointer, for query: DNSQuery, via sink: DNSAnswerSink) {
        DNSWire.setID(query.originalID, in: bytes)
        let scan: AnswerScan
        do {
            scan = try AnswerScan.scan(UnsafeRawBufferPointer(bytes), ips: &answerIPs)
        } catch {
            // Cilium cannot unpack it either and answers SERVFAIL.
            counters.malformedAnswers += 1
            serverFailure(for: query, via: sink)
            return
        }
        counters.answers += 1
        if scan.rcode == .noError, !answerIPs.isEmpty, let gate, let service,
            query.qname.withUnsafeBytes({ service.selectors.matches($0) })
        {
            hold(bytes, for: query, via: sink, gate: gate)
            return
        }
        let failure = sink.sendAnswer(UnsafeRawBufferPointer(bytes), to: query)
        if failure != nil { counters.replyFailures += 1 }
        recorder.response(
            query, types: DNSAnswerTypes(scan), ttl: answerIPs.isEmpty && scan.cnames == 0 ? 0 : scan.ttl,
            ips: answerIPs, rcode: scan.rcode, verdict: failure == nil ? .forwarded : .error,
            now: SystemClock.monotonicNs(), failure: failure)
    }

    /// An answer whose addresses a toFQDNs selector learns: summarised in full (the gate keeps
    /// the addresses until they are in the datapath) and held, a copy of its bytes released later.
    private func hold(
        _ bytes: UnsafeMutableRawBufferPointer, for query: DNSQuery, via sink: DNSAnswerSink, gate: FQDNAnswerGate
    ) {
        let summary: AnswerSummary
        do {
            summary = AnswerSummary.extract(from: try DNSParser.parse(UnsafeRawBufferPointer(bytes)))
        } catch {
            // Not reached: the scan accepted it (`AnswerScanTests`); answered as malformed.
            counters.malformedAnswers += 1
            serverFailure(for: query, via: sink)
            return
        }
        let copy = Array(bytes)
        let name = String(decoding: query.qname, as: UTF8.self)
        gate.hold(name: name, ips: summary.ips, ttl: summary.ttl, now: ctx.loop.now) { [unowned self] in
            copy.withUnsafeBytes { self.send($0, summary: summary, for: query, via: sink) }
        }
    }

    private func send(
        _ bytes: UnsafeRawBufferPointer, summary: AnswerSummary, for query: DNSQuery,
        via sink: DNSAnswerSink
    ) {
        let failure = sink.sendAnswer(bytes, to: query)
        if failure != nil { counters.replyFailures += 1 }
        recorder.response(
            query, summary: summary, rcode: summary.rcode, verdict: failure == nil ? .forwarded : .error,
            now: SystemClock.monotonicNs(), failure: failure)
    }

    /// SERVFAIL for a proxy-side failure (cannot forward, too many in flight, unreadable answer,
    /// upstream connection failed), with an ERROR response flow carrying `failure` (the peer's
    /// side and errno) when a connection or send failed. `queryBytes`, when still at hand, gives
    /// the exact reply shape.
    func serverFailure(
        for query: DNSQuery, queryBytes: UnsafeRawBufferPointer? = nil, via sink: DNSAnswerSink,
        failure: PeerClose? = nil
    ) {
        counters.serverFailures += 1
        let reply: [UInt8]?
        if let queryBytes {
            reply = try? DNSReply.error(for: queryBytes, rcode: .servFail)
        } else {
            reply = Self.serverFailureReply(for: query)
        }
        // The upstream's failure is what this answer reports; the client's, if sending fails.
        var failure = failure
        if let reply, let lost = reply.withUnsafeBytes({ sink.sendAnswer($0, to: query) }) {
            counters.replyFailures += 1
            failure = failure ?? lost
        }
        recorder.response(
            query, summary: nil, rcode: .servFail, verdict: .error, now: SystemClock.monotonicNs(), failure: failure)
    }

    /// A SERVFAIL rebuilt from what the query kept (ID, question) once its bytes are gone.
    static func serverFailureReply(for query: DNSQuery) -> [UInt8]? {
        guard let name = try? DomainName(String(decoding: query.qname, as: UTF8.self)) else { return nil }
        let header = DNSHeader(id: query.originalID, qr: true, rd: true, ra: true, rcode: .servFail)
        return DNSSerializer.serialize(
            DNSMessage(header: header, questions: [Question(name: name, type: RRType(query.qtype))]),
            compress: false)
    }

    /// Sends a reply the screen built (FORMERR, NOTIMP) for a message that is no query of record.
    private func sendUnrecorded(
        _ reply: [UInt8]?, via sink: DNSAnswerSink, to client: DNSEndpointAddress,
        server: DNSEndpointAddress
    ) {
        guard let reply else { return }
        let query = DNSQuery(
            client: client, server: server, proto: 0, steer: nil, originalID: 0, qname: [],
            qtype: 0, requestTimeNs: 0)
        _ = reply.withUnsafeBytes { sink.sendAnswer($0, to: query) }
    }

    /// Puts a UDP query refused by the client's egress DNS rules into the datapath's deny cache
    /// (`DNSDenyCache`), so tc answers it from then on with the same reply and request flow, when
    /// tc can answer its shape (`DNSDenyKey`) and the steering entry it was decided with is as new
    /// as the steering maps. The generation is read first: a policy or map change after it makes
    /// the entry stale at once; the snapshot this worker decided with was in force when it was
    /// read (the agent bumps the generation only after every worker took a new snapshot).
    private func cacheDenial(_ query: DNSQuery, rcode: RCode, queryBytes: UnsafeRawBufferPointer) {
        let steering = ctx.steering
        guard let cache = steering.dnsDenyCache, query.direction == .egress, rcode.extendedBits == 0,
            let steer = query.steer, steer.sides.contains(.egress)
        else { return }
        let generation = cache.generation
        if let epoch = steering.changeEpoch, steer.createdNs <= epoch.lastChangeNs { return }
        guard
            var key = DNSDenyKey.make(
                queryBytes, client: query.client.address, server: query.server.address,
                serverPort: query.server.port)
        else { return }
        var value = DNSDenyKey.value(
            generation: generation, rcode: rcode, qname: query.qname, policyRef: query.policyRef)
        counters.denialsCached += 1
        cache.insert(&key, &value)
    }

    /// Acts on a decision for the query in `queryBytes` that is not forwarded (or records the
    /// forward). A denied query's reply is written over `queryBytes` (they are not forwarded).
    /// Returns the query to forward, if any.
    func act(
        on decision: DNSQueryDecision, queryBytes: UnsafeMutableRawBufferPointer, via sink: DNSAnswerSink,
        replyTo client: DNSEndpointAddress, server: DNSEndpointAddress
    ) -> DNSQuery? {
        counters.queries += 1
        switch decision {
        case .ignore:
            counters.ignored += 1
        case .formatError(let reply):
            counters.formatErrors += 1
            sendUnrecorded(reply, via: sink, to: client, server: server)
        case .notImplemented(let reply):
            counters.notImplemented += 1
            sendUnrecorded(reply, via: sink, to: client, server: server)
        case .reject(let query, let reply):
            counters.rejected += 1
            recorder.request(query, verdict: .dropped)
            if query.proto == IPProtocol.udp {
                cacheDenial(query, rcode: reply.rcode, queryBytes: UnsafeRawBufferPointer(queryBytes))
            }
            let failure: PeerClose?
            if let length = DNSReply.errorInPlace(queryBytes, head: reply.head, rcode: reply.rcode) {
                failure = sink.sendAnswer(UnsafeRawBufferPointer(rebasing: queryBytes[0..<length]), to: query)
            } else {
                failure = reply.bytes(for: UnsafeRawBufferPointer(queryBytes)).withUnsafeBytes {
                    sink.sendAnswer($0, to: query)
                }
            }
            if failure != nil { counters.replyFailures += 1 }
        case .drop(let query):
            counters.dropped += 1
            recorder.policyDrop(query)
        case .forward(let query):
            counters.forwarded += 1
            recorder.request(query, verdict: .forwarded)
            return query
        }
        return nil
    }
}
