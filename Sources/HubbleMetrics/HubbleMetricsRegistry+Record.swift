import CSluiceShared
import Flows

/// Counting a flow straight from its ring record (issue 17: the observer without a decode per
/// flow). Without context labels, every handler's labels are made of the record's numbers and
/// enum values (event type, verdict, direction, L4 protocol and flags, ICMP type, drop reason,
/// L7 type and protocol, HTTP method and code, DNS qtype, rcode, answer count and types); the
/// two histograms observe the record's latency. So the first record of each `RecordKey` is
/// decoded and counted as a `Flow`, the series it moved are kept (`RecordEffects`, found by
/// diffing every family's counts), and every later record of the same key moves the same series
/// without a decode: counts equal the decoded path's by construction (a test holds them equal on
/// every record kind the proxy writes).
///
/// Handlers that read names or labels (context labels, `flows-to-world`'s destination labels,
/// `dns`'s `query` label) keep the decoded path for every record (`countsFromRecords` false).
extension HubbleMetricsRegistry {
    /// The record fields any handler without context labels reads. Finer than needed is only a
    /// lower hit rate, never a wrong count; ports, addresses, identities and text stay out
    /// (except the destination port with `port-distribution` and the HTTP method).
    struct RecordKey: Hashable {
        // Widest first, so the struct has no padding between fields (== and hash read its bytes).
        var method: (UInt64, UInt64)
        var destinationPort: UInt16
        var httpCode: UInt16
        var dnsQtype: UInt16
        var dnsRcode: UInt16
        var dnsTypes: UInt16
        var eventType: UInt8
        var flowType: UInt8
        var verdict: UInt8
        var direction: UInt8
        var isReply: UInt8
        var ipVersion: UInt8
        var l4Proto: UInt8
        var tcpFlags: UInt8
        var icmpType: UInt8
        var icmpCode: UInt8
        var tracePoint: UInt8
        var traceReason: UInt8
        var policyMatch: UInt8
        var dropReason: UInt8
        var l7Type: UInt8
        var l7Proto: UInt8
        var methodLength: UInt8
        var dnsAnswers: UInt8
        /// The source is the host identity (policy verdicts of the host are not counted).
        var sourceIsHost: Bool

        static func == (a: RecordKey, b: RecordKey) -> Bool {
            withUnsafeBytes(of: a) { x in withUnsafeBytes(of: b) { y in x.elementsEqual(y) } }
        }

        func hash(into hasher: inout Hasher) {
            withUnsafeBytes(of: self) { hasher.combine(bytes: $0) }
        }
    }

    /// The series one record of a key moves: counter handles with their increments, histogram
    /// handles with their observation counts (each observes the record's latency in seconds).
    struct RecordEffects {
        var counters: [(family: Int, handle: Int, amount: UInt64)] = []
        var histograms: [(family: Int, handle: Int, count: UInt64)] = []
    }

    /// Keys kept at most (a bound on memory; past it, new keys are counted by decoding).
    static let maxRecordKeys = 16384

    /// Whether `handler` counts from record fields alone (no context labels, no names).
    static func countsFromRecordFields(_ handler: any MetricHandler) -> Bool {
        switch handler {
        case let h as FlowHandler: h.context.isEmpty
        case let h as DropHandler: h.context.isEmpty
        case let h as TCPHandler: h.context.isEmpty
        case let h as ICMPHandler: h.context.isEmpty
        case let h as PortDistributionHandler: h.context.isEmpty
        case let h as PolicyHandler: h.context.isEmpty
        case let h as HTTPHandler: h.context.isEmpty
        case let h as DNSHandler: h.context.isEmpty && !h.includeQuery
        default: false
        }
    }

    /// The key of `rec`, or nil when its counts depend on more than its fields (a policy verdict
    /// whose source identity only the endpoint directory knows).
    func recordKey(_ rec: borrowing sluice_flow) -> RecordKey? {
        let eventType = rec.event_type
        if rec.src_identity == 0, Int32(eventType) == Flow.EventType.policyVerdict { return nil }
        var key = RecordKey(
            method: (0, 0), destinationPort: keyHasPort ? rec.dst_port : 0, httpCode: 0, dnsQtype: 0, dnsRcode: 0,
            dnsTypes: 0, eventType: eventType, flowType: rec.flow_type, verdict: rec.verdict,
            direction: rec.direction, isReply: rec.is_reply, ipVersion: rec.ip_version, l4Proto: rec.l4_proto,
            tcpFlags: rec.tcp_flags, icmpType: rec.icmp_type, icmpCode: rec.icmp_code, tracePoint: rec.trace_point,
            traceReason: rec.trace_reason, policyMatch: rec.policy_match, dropReason: rec.drop_reason,
            l7Type: rec.l7_type, l7Proto: rec.l7_proto, methodLength: 0, dnsAnswers: 0,
            sourceIsHost: rec.src_identity == PolicyHandler.hostIdentity)
        guard rec.flow_type == Flow.FlowType.l7.rawValue else { return key }
        switch Flow.L7Protocol(rawValue: rec.l7_proto) ?? .none {
        case .http10, .http11, .http2, .tls:
            let length = min(Int(rec.l7.http.method_len), Int(SLUICE_HTTP_METHOD_MAX))
            key.httpCode = rec.l7.http.code
            key.methodLength = UInt8(length)
            withUnsafeBytes(of: rec.l7.http.method) { bytes in
                withUnsafeMutableBytes(of: &key.method) { out in
                    for i in 0..<length { out[i] = bytes[i] }
                }
            }
        case .dns:
            key.dnsQtype = rec.l7.dns.qtype
            key.dnsRcode = rec.l7.dns.rcode
            key.dnsAnswers = rec.l7.dns.n_ips
            key.dnsTypes = rec.l7.dns.rrtypes_mask
        case .none:
            break
        }
        return key
    }

    /// Counts the flow of ring record `rec` in every handler and in Sluice's families, as
    /// `process(decode())` would; `decode` is called only for a record whose key is new (or
    /// when `countsFromRecords` is false).
    public func process(record rec: borrowing sluice_flow, decode: () -> Flow) {
        guard countsFromRecords, let key = recordKey(rec) else { return process(decode()) }
        if let effects = recordEffects[key] { return apply(effects, latencyNs: rec.latency_ns) }
        guard recordEffects.count < Self.maxRecordKeys else { return process(decode()) }
        let families = countedFamilies
        let counts = families.counters.map(\.countsByHandle)
        let observations = families.histograms.map(\.observationsByHandle)
        process(decode())
        var effects = RecordEffects()
        for (f, family) in families.counters.enumerated() {
            for (handle, now) in family.countsByHandle.enumerated() {
                let before = handle < counts[f].count ? counts[f][handle] : 0
                if now != before { effects.counters.append((f, handle, now &- before)) }
            }
        }
        for (f, family) in families.histograms.enumerated() {
            for (handle, now) in family.observationsByHandle.enumerated() {
                let before = handle < observations[f].count ? observations[f][handle] : 0
                if now != before { effects.histograms.append((f, handle, now &- before)) }
            }
        }
        recordEffects[key] = effects
    }

    private func apply(_ effects: RecordEffects, latencyNs: UInt64) {
        let families = countedFamilies
        for e in effects.counters { families.counters[e.family].add(series: e.handle, e.amount) }
        guard !effects.histograms.isEmpty else { return }
        let seconds = Double(latencyNs) / 1e9
        for e in effects.histograms {
            for _ in 0..<e.count { families.histograms[e.family].observe(series: e.handle, seconds) }
        }
    }
}
