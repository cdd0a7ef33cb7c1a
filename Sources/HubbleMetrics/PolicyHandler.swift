import Flows

/// `policy`: `hubble_policy_verdicts_total{direction, match, action, <context>}`: policy-verdict
/// events (match = the policy match type, `l3-l4`, ...) and L7 access-log events (match `l7/http`,
/// `l7/dns`). Verdicts of traffic from the host identity are not counted (the host may reach every
/// local endpoint).
final class PolicyHandler: MetricHandler {
    let name = "policy"
    let context: ContextOptions
    let verdicts: CounterFamily

    /// Cilium's reserved identity `host`.
    static let hostIdentity: UInt32 = 1

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        context = try ContextOptions(metric.options)
        verdicts = CounterFamily(
            name: hubbleNamespace + "policy_verdicts_total", help: "Total number of Cilium network policy verdicts",
            labelNames: ["direction", "match", "action"] + context.labelNames)
    }

    var families: [any MetricFamily] { [verdicts] }

    func process(_ flow: Flow) {
        let match: String
        switch flow.eventType.type {
        case Flow.EventType.policyVerdict:
            guard flow.source?.identity != Self.hostIdentity else { return }
            match = Flow.policyMatchName(flow.policyMatchType).lowercased()
        case Flow.EventType.l7:
            switch flow.l7?.record {
            case .dns?: match = "l7/dns"
            case .http?: match = "l7/http"
            case nil: match = "l7/"
            }
        default: return
        }
        let direction = flow.trafficDirection.name.lowercased()
        verdicts.add([direction, match, flow.verdict.name.lowercased()] + context.labelValues(flow))
    }
}
