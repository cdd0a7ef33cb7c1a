import Flows

/// Sluice's own families (`sluice_*`), beside Hubble's.
///
/// From flow records (exact, counted as the records are read):
/// - `sluice_connections_total{verdict, direction}`: connection openings the datapath saw: trace
///   records with trace reason NEW (forwarded) and drop records of packets not known to be replies.
///   A pod-to-pod connection on one node is seen at both pods (once egress, once ingress).
/// - `sluice_requests_total{verdict, direction, protocol}`: L7 request flows of the proxies (HTTP
///   requests, TLS ClientHellos judged by SNI, DNS queries); `protocol` as the flow says it
///   (`HTTP/1.1`, `HTTP/2`, `TLS`, `DNS`).
/// - `sluice_upstream_latency_seconds{protocol}`: the latency of each L7 response flow (request
///   sent upstream to response head / DNS answer received).
///
/// Set from outside by the process that serves them:
/// - `sluice_flow_ring_lost_events_total`: records the flow ring overwrote before this reader got
///   them (the reader's count).
/// - `sluice_agent_resident_memory_bytes`: the agent's resident set (read from /proc).
/// - `sluice_policy_apply_duration_seconds{phase}`: the last policy install's compile and map
///   write times (the agent's `lastApply` in its `introspect` answer).
/// - `sluice_policy_applies_total{result}`: `success`: installs seen, counted each time the
///   agent's answer shows a new `lastApply`; `error`: the agent's count of applies it refused or
///   could not install (`policyApplyFailures`, exact).
/// - `sluice_dns_answer_to_datapath_seconds`: the agent's histogram of the time from the DNS proxy
///   handing an upstream answer to the FQDN learner until its addresses are in the datapath
///   (the answer is held meanwhile), copied as the agent keeps it.
public final class SluiceMetrics {
    public let connections = CounterFamily(
        name: "sluice_connections_total", help: "Connection openings seen by the datapath, by verdict and direction",
        labelNames: ["verdict", "direction"])
    public let requests = CounterFamily(
        name: "sluice_requests_total", help: "L7 requests seen by the proxies, by verdict, direction and protocol",
        labelNames: ["verdict", "direction", "protocol"])
    public let upstreamLatency = HistogramFamily(
        name: "sluice_upstream_latency_seconds", help: "Time from a request sent upstream to its response",
        labelNames: ["protocol"])
    public let lostEvents = CounterFamily(
        name: "sluice_flow_ring_lost_events_total", help: "Flow records overwritten before this reader read them",
        labelNames: [])
    public let agentResidentMemory = GaugeFamily(
        name: "sluice_agent_resident_memory_bytes", help: "Resident memory of the sluice-agent process")
    public let policyApplyDuration = GaugeFamily(
        name: "sluice_policy_apply_duration_seconds", help: "Duration of the last policy install, by phase",
        labelNames: ["phase"])
    public let policyApplies = CounterFamily(
        name: "sluice_policy_applies_total", help: "Policy installs seen, by result", labelNames: ["result"])

    /// Created with the agent's bounds at the first reading (nil before).
    public private(set) var dnsAnswerToDatapath: HistogramFamily?

    public init() {}

    public var families: [any MetricFamily] {
        [connections, requests, upstreamLatency, lostEvents, agentResidentMemory, policyApplyDuration, policyApplies]
            + (dnsAnswerToDatapath.map { [$0] } ?? [])
    }

    /// The agent's count of failed policy applies.
    public func setPolicyApplyFailures(_ count: UInt64) { policyApplies.set(["error"], count) }

    /// The agent's DNS-answer-to-datapath histogram: per-bucket `counts` (one more than `bounds`,
    /// the last one `+Inf`), `sum` seconds, `count` observations. Bounds that change (another
    /// agent) start the family again.
    public func setDNSAnswerToDatapath(bounds: [Double], counts: [UInt64], sum: Double, count: UInt64) {
        guard counts.count == bounds.count + 1 else { return }
        if dnsAnswerToDatapath?.buckets != bounds {
            dnsAnswerToDatapath = HistogramFamily(
                name: "sluice_dns_answer_to_datapath_seconds",
                help:
                    "Time from an upstream DNS answer to its addresses in the datapath, before the answer is released",
                labelNames: [], buckets: bounds)
        }
        dnsAnswerToDatapath?.set(
            [], HistogramFamily.Series(bucketCounts: Array(counts.dropLast()), sum: sum, count: count))
    }

    /// The flow fields a `sluice_*` series is named by (`SeriesCache`).
    struct Key: Hashable {
        var verdict: Flow.Verdict
        var direction: Flow.TrafficDirection
        var `protocol`: String
    }

    private var requestCache = SeriesCache<Key>()
    private var latencyCache = SeriesCache<Key>()
    private var connectionCache = SeriesCache<Key>()

    /// Counts one flow record.
    public func process(_ flow: Flow) {
        if let l7 = flow.l7 {
            let proto: String
            switch l7.record {
            case .http(let h)?: proto = h.protocol
            case .dns?: proto = "DNS"
            case nil: return
            }
            switch l7.type {
            case .request:
                let key = Key(verdict: flow.verdict, direction: flow.trafficDirection, protocol: proto)
                requests.add(
                    series: requestCache.counter(key, requests) {
                        [flow.verdict.name.lowercased(), flow.trafficDirection.name.lowercased(), proto]
                    })
            case .response:
                let key = Key(verdict: .unknown, direction: .unknown, protocol: proto)
                upstreamLatency.observe(
                    series: latencyCache.histogram(key, upstreamLatency) { [proto] }, Double(l7.latencyNs) / 1e9)
            default: return
            }
            return
        }
        switch flow.eventType.type {
        case Flow.EventType.trace where flow.traceReason == .new, Flow.EventType.drop where flow.isReply != true:
            let key = Key(verdict: flow.verdict, direction: flow.trafficDirection, protocol: "")
            connections.add(
                series: connectionCache.counter(key, connections) {
                    [flow.verdict.name.lowercased(), flow.trafficDirection.name.lowercased()]
                })
        default: return
        }
    }

    /// The reader's lost-record count so far.
    public func setLostEvents(_ count: UInt64) { lostEvents.set([], count) }

    /// The agent's resident memory in bytes.
    public func setAgentResidentMemory(_ bytes: UInt64) { agentResidentMemory.set([], Double(bytes)) }

    /// Records the agent's `lastApply` line when it changed since the last call (a new install):
    /// `last install: compile 12.3 ms, maps 45.6 ms (...)`. A line it cannot read counts as
    /// result `unreadable`, so a format change shows up instead of vanishing.
    public func noteLastApply(_ line: String?) {
        guard let line, line != lastApplySeen else { return }
        lastApplySeen = line
        guard let compile = Self.milliseconds(after: "compile ", in: line),
            let maps = Self.milliseconds(after: "maps ", in: line)
        else {
            policyApplies.add(["unreadable"])
            return
        }
        policyApplyDuration.set(["compile"], compile / 1000)
        policyApplyDuration.set(["maps"], maps / 1000)
        policyApplies.add(["success"])
    }

    private var lastApplySeen: String?

    /// The number before ` ms` that follows `key` in `line`.
    static func milliseconds(after key: String, in line: String) -> Double? {
        guard let start = line.firstRange(of: key)?.upperBound else { return nil }
        let rest = line[start...]
        guard let end = rest.firstRange(of: " ms")?.lowerBound else { return nil }
        return Double(rest[..<end])
    }
}
