import Flows

/// `drop`: `hubble_drop_total{<context>, reason, protocol}` (context labels first), dropped flows.
final class DropHandler: MetricHandler {
    let name = "drop"
    let context: ContextOptions
    let drops: CounterFamily

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        context = try ContextOptions(metric.options)
        drops = CounterFamily(
            name: hubbleNamespace + "drop_total", help: "Number of drops",
            labelNames: context.labelNames + ["reason", "protocol"])
    }

    var families: [any MetricFamily] { [drops] }

    func process(_ flow: Flow) {
        guard flow.verdict == .dropped else { return }
        drops.add(context.labelValues(flow) + [dropReasonName(flow), flowProtocol(flow)])
    }
}
