import Flows

/// `drop`: `hubble_drop_total{<context>, reason, protocol}` (context labels first), dropped flows.
final class DropHandler: CounterHandler {

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        try super.init(
            metric, family: "drop_total", help: "Number of drops", labelNames: ["reason", "protocol"],
            contextFirst: true)
    }

    override func process(_ flow: Flow) {
        guard flow.verdict == .dropped else { return }
        counter.add(context.labelValues(flow) + [dropReasonName(flow), flowProtocol(flow)])
    }
}
