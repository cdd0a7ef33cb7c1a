import Flows

/// `flow`: `hubble_flows_processed_total{protocol, type, subtype, verdict, <context>}`, every flow.
final class FlowHandler: MetricHandler {
    let name = "flow"
    let context: ContextOptions
    let flows: CounterFamily

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        context = try ContextOptions(metric.options)
        flows = CounterFamily(
            name: hubbleNamespace + "flows_processed_total", help: "Total number of flows processed",
            labelNames: ["protocol", "type", "subtype", "verdict"] + context.labelNames)
    }

    var families: [any MetricFamily] { [flows] }

    func process(_ flow: Flow) {
        let (type, subtype) = Self.typeAndSubtype(flow)
        flows.add([flowProtocol(flow), type, subtype, flow.verdict.name] + context.labelValues(flow))
    }

    /// The `type` and `subtype` labels: `L7`/`HTTP`, `Drop`/"", `Trace`/`to-endpoint`, ...
    static func typeAndSubtype(_ flow: Flow) -> (String, String) {
        switch flow.eventType.type {
        case Flow.EventType.l7:
            switch flow.l7?.record {
            case .dns?: return ("L7", "DNS")
            case .http?: return ("L7", "HTTP")
            case nil: return ("L7", "")
            }
        case Flow.EventType.drop: return ("Drop", "")
        case Flow.EventType.capture: return ("Capture", "")
        case Flow.EventType.trace: return ("Trace", traceObservationPointName(flow.eventType.subType))
        case Flow.EventType.policyVerdict: return ("PolicyVerdict", "")
        default: return ("Unknown", String(flow.eventType.type))
        }
    }

    /// Cilium's monitor `TraceObservationPoints` by trace sub-type; "" for a number it lacks (a Go
    /// map's zero value).
    static func traceObservationPointName(_ subType: Int32) -> String {
        let names = [
            "to-endpoint", "to-proxy", "to-host", "to-stack", "to-overlay", "from-endpoint", "from-proxy",
            "from-host", "from-stack", "from-overlay", "from-network", "to-network",
        ]
        guard subType >= 0, Int(subType) < names.count else { return "" }
        return names[Int(subType)]
    }
}
