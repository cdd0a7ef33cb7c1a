import Flows

/// `policy`: `hubble_policy_verdicts_total{direction, match, action, <context>}`: policy-verdict
/// events (match = the policy match type, `l3-l4`, ...) and L7 access-log events (match `l7/http`,
/// `l7/dns`). Verdicts of traffic from the host identity are not counted (the host may reach every
/// local endpoint).
final class PolicyHandler: CounterHandler {

    /// Cilium's reserved identity `host`.
    static let hostIdentity: UInt32 = 1

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        try super.init(
            metric, family: "policy_verdicts_total", help: "Total number of Cilium network policy verdicts",
            labelNames: ["direction", "match", "action"])
    }

    struct Key: Hashable {
        var type: Int32
        var matchType: UInt32
        var l7: UInt8
        var direction: Flow.TrafficDirection
        var verdict: Flow.Verdict
    }

    private var cache = SeriesCache<Key>()

    override func process(_ flow: Flow) {
        if context.isEmpty {
            let type = flow.eventType.type
            guard type == Flow.EventType.l7 || type == Flow.EventType.policyVerdict else { return }
            if type == Flow.EventType.policyVerdict, flow.source?.identity == Self.hostIdentity { return }
            let key = Key(
                type: type, matchType: type == Flow.EventType.policyVerdict ? flow.policyMatchType : 0,
                l7: l7Kind(flow), direction: flow.trafficDirection, verdict: flow.verdict)
            if let handle = cache.counterIfKnown(key) { return counter.add(series: handle) }
            guard let labels = labels(flow) else { return }
            return counter.add(series: cache.counter(key, counter) { labels })
        }
        guard let labels = labels(flow) else { return }
        counter.add(labels + context.labelValues(flow))
    }

    /// `direction`, `match`, `action`, or nil for a flow this handler does not count.
    private func labels(_ flow: Flow) -> [String]? {
        let match: String
        switch flow.eventType.type {
        case Flow.EventType.policyVerdict:
            guard flow.source?.identity != Self.hostIdentity else { return nil }
            match = Flow.policyMatchName(flow.policyMatchType).lowercased()
        case Flow.EventType.l7:
            switch flow.l7?.record {
            case .dns?: match = "l7/dns"
            case .http?: match = "l7/http"
            case nil: match = "l7/"
            }
        default: return nil
        }
        return [flow.trafficDirection.name.lowercased(), match, flow.verdict.name.lowercased()]
    }
}
