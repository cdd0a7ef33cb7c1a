import Flows

/// `flow`: `hubble_flows_processed_total{protocol, type, subtype, verdict, <context>}`, every flow.
final class FlowHandler: CounterHandler {

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        try super.init(
            metric, family: "flows_processed_total", help: "Total number of flows processed",
            labelNames: ["protocol", "type", "subtype", "verdict"])
    }

    /// The flow fields the labels are made of (without context labels).
    struct Key: Hashable {
        var type: Int32
        var subType: Int32
        var l7: UInt8
        var l4: UInt8
        var verdict: Flow.Verdict
    }

    private var cache = SeriesCache<Key>()

    override func process(_ flow: Flow) {
        guard context.isEmpty else { return counter.add(labels(flow) + context.labelValues(flow)) }
        let key = Key(
            type: flow.eventType.type, subType: flow.eventType.subType, l7: l7Kind(flow), l4: l4Kind(flow),
            verdict: flow.verdict)
        counter.add(series: cache.counter(key, counter) { labels(flow) })
    }

    private func labels(_ flow: Flow) -> [String] {
        let (type, subtype) = Self.typeAndSubtype(flow)
        return [flowProtocol(flow), type, subtype, flow.verdict.name]
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
