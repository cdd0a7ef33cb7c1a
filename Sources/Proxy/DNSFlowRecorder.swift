import CSluiceShared
import DNS
import Flows
import SluiceIO
import SluiceModel

/// Writes the flows of DNS queries (cilium-semantics.md 5.2): a request flow (query, qtype) when
/// the query is forwarded, a response flow (source and destination swapped; ips, ttl, rcode,
/// rrtypes) when the answer goes back, a single DROPPED request flow for a denied query and an
/// L3/L4 drop when no rule admits the server. DNS flows are EGRESS (DNS rules are egress rules),
/// except the DROPPED request of a query the server's ingress rules refused (`DNSQuery.direction`);
/// every record carries both endpoints and both identities.
///
/// Stateless; loop-thread only like its sink. With no sink, or while recording is paused
/// (`FlowRecording`, read per record), every call returns at once.
struct DNSFlowRecorder {
    private let sink: FlowSink?
    private let recording: FlowRecording

    init(flows: FlowSink?, recording: FlowRecording = FlowRecording()) {
        sink = flows
        self.recording = recording
    }

    /// The sink, or nil with flows off or paused.
    var flows: FlowSink? { recording.isOn ? sink : nil }

    private func common(_ query: DNSQuery, verdict: Flow.Verdict, timeNs: UInt64) -> FlowCommon {
        FlowCommon.proxied(
            clientAddress: query.client.address, clientPort: query.client.port,
            serverAddress: query.server.address, serverPort: query.server.port, l4Proto: query.proto,
            direction: query.direction, steer: query.steer, verdict: verdict, timeNs: timeNs)
    }

    /// The request flow: FORWARDED (allowed) or DROPPED (denied by a DNS rule).
    func request(_ query: DNSQuery, verdict: Flow.Verdict) {
        guard let flows else { return }
        let c = common(query, verdict: verdict, timeNs: query.requestTimeNs)
        query.qname.withUnsafeBytes { name in
            flows.append { rec in
                FlowRecordWriter.writeDNS(
                    rec, common: c, l7Type: .request, query: name, qtype: query.qtype,
                    rcode: 0, ttl: 0, rrtypes: [], latencyNs: 0, policyID: query.policyRef)
            }
        }
    }

    /// The response flow for the answer relayed to the client (`verdict` ERROR for a SERVFAIL the
    /// proxy made up). `failure`: the peer whose failed connection or send this answer reports
    /// (side and errno, into the record).
    func response(
        _ query: DNSQuery, summary: AnswerSummary?, rcode: RCode, verdict: Flow.Verdict, now: UInt64,
        failure: PeerClose? = nil
    ) {
        guard flows != nil else { return }
        var types: DNSAnswerTypes = []
        for type in summary?.rrtypes ?? [] {
            switch type {
            case .a: types.insert(.a)
            case .aaaa: types.insert(.aaaa)
            case .cname: types.insert(.cname)
            default: types.insert(.other)
            }
        }
        let ttl = summary.map { $0.ips.isEmpty && $0.cnames.isEmpty ? 0 : $0.ttl } ?? 0
        response(
            query, types: types, ttl: ttl, ips: summary?.ips ?? [], rcode: rcode, verdict: verdict, now: now,
            failure: failure)
    }

    /// The response flow from the answer's figures: the chain's record types, the TTL written
    /// (0 when the chain has no address and no CNAME) and its addresses.
    func response(
        _ query: DNSQuery, types: DNSAnswerTypes, ttl: UInt32, ips: [IPAddress], rcode: RCode,
        verdict: Flow.Verdict, now: UInt64, failure: PeerClose? = nil
    ) {
        guard let flows else { return }
        var c = common(query, verdict: verdict, timeNs: now).swapped()
        c.isReply = true
        let latency = now &- query.requestTimeNs
        query.qname.withUnsafeBytes { name in
            flows.append { rec in
                FlowRecordWriter.writeDNS(
                    rec, common: c, l7Type: .response, query: name, qtype: query.qtype,
                    rcode: rcode.rawValue, ttl: ttl, rrtypes: types, latencyNs: latency)
                if let failure {
                    FlowRecordWriter.setDNSConnectionError(rec, side: failure.side.rawValue, errno: failure.errno)
                }
                for ip in ips {
                    switch ip {
                    case .v4(let v4):
                        FlowRecordWriter.appendDNSAddress(rec, ipv4NetworkOrder: v4.networkOrder)
                    case .v6(let v6):
                        v6.bytes.withUnsafeBytes { _ = FlowRecordWriter.appendDNSAddress(rec, ipv6: $0) }
                    }
                }
            }
        }
    }

    /// No rule admits the server on this port (or the datagram was not steered): the L3/L4 drop
    /// Cilium's datapath would have written.
    func policyDrop(_ query: DNSQuery) {
        flows?.appendPolicyDrop(common(query, verdict: .dropped, timeNs: query.requestTimeNs))
    }
}

extension DNSAnswerTypes {
    /// The record types on an answer's chain, as `AnswerScan` found them.
    init(_ scan: AnswerScan) {
        self = []
        if scan.hasA { insert(.a) }
        if scan.hasAAAA { insert(.aaaa) }
        if scan.hasCNAME { insert(.cname) }
        if scan.hasOther { insert(.other) }
    }
}
