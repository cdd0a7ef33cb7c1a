import Flows

/// `flows-to-world`: `hubble_flows_to_world_total{protocol, verdict[, port], <context>}`: flows to
/// `reserved:world` with an L4 header, requests only (a forwarded reply is skipped), policy drops
/// only unless `any-drop`; `port` adds the destination port, `syn-only` counts only TCP SYNs.
final class FlowsToWorldHandler: CounterHandler {
    let anyDrop: Bool
    let port: Bool
    let synOnly: Bool

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        anyDrop = metric.option("any-drop") != nil
        port = metric.option("port") != nil
        synOnly = metric.option("syn-only") != nil
        try super.init(
            metric, family: "flows_to_world_total", help: "Total number of flows to reserved:world",
            labelNames: ["protocol", "verdict"] + (port ? ["port"] : []))
    }

    override func process(_ flow: Flow) {
        guard let destination = flow.destination, destination.labels.contains("reserved:world"), let l4 = flow.l4 else {
            return
        }
        if flow.verdict == .dropped, !anyDrop, flow.dropReasonDesc != .policyDenied { return }
        let isReply = flow.isReply == true
        if flow.verdict != .dropped, isReply { return }
        if synOnly {
            guard case .tcp(let tcp) = l4, tcp.flags?.contains(.syn) == true, !isReply else { return }
        }
        var labels = [flowProtocol(flow), flow.verdict.name]
        if port { labels.append(l4.destinationPort.map { String($0) } ?? "") }
        counter.add(labels + context.labelValues(flow))
    }
}
