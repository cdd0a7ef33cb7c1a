import Flows

/// One of Hubble's metric handlers: its families and what one flow adds to them. Handlers keep
/// Hubble's names, label names and label order (`pkg/hubble/metrics/<name>/handler.go`) and its
/// rules for which flows count, so dashboards written for Hubble read Sluice unchanged.
public protocol MetricHandler: AnyObject {
    /// The handler's name in the option syntax (`flow`, `httpV2`).
    var name: String { get }
    /// Its families, each registered once.
    var families: [any MetricFamily] { get }
    /// Counts `flow` (a no-op for flows the handler does not count).
    func process(_ flow: Flow)
}

/// Hubble's metric namespace: every family is `hubble_<name>`.
let hubbleNamespace = "hubble_"

/// Hubble's `v1.FlowProtocol`: the L7 protocol of access-log events, the L4 protocol of drop,
/// trace, policy-verdict and capture events, `Unknown flow` for other event types.
func flowProtocol(_ flow: Flow) -> String {
    switch flow.eventType.type {
    case Flow.EventType.l7:
        switch flow.l7?.record {
        case .dns?: return "DNS"
        case .http?: return "HTTP"
        case nil: return "Unknown L7"
        }
    case Flow.EventType.drop, Flow.EventType.trace, Flow.EventType.policyVerdict, Flow.EventType.capture:
        return flow.l4?.protocolName ?? "Unknown L4"
    default: return "Unknown flow"
    }
}

/// What kind of L7 record a flow carries (0 none, 1 an L7 block without one, 2 DNS, 3 HTTP), for
/// `SeriesCache` keys.
func l7Kind(_ flow: Flow) -> UInt8 {
    guard let l7 = flow.l7 else { return 0 }
    switch l7.record {
    case nil: return 1
    case .dns?: return 2
    case .http?: return 3
    }
}

/// What kind of L4 header a flow carries (0 none, then TCP, UDP, ICMPv4, ICMPv6, SCTP), for
/// `SeriesCache` keys.
func l4Kind(_ flow: Flow) -> UInt8 {
    switch flow.l4 {
    case nil: return 0
    case .tcp?: return 1
    case .udp?: return 2
    case .icmpv4?: return 3
    case .icmpv6?: return 4
    case .sctp?: return 5
    }
}

/// Go's `String()` of a flow.proto enum value: its name, or the number when it has none.
func dropReasonName(_ flow: Flow) -> String {
    flow.dropReasonDesc.name ?? String(flow.dropReason)
}

/// Whether the flow was let through (Hubble's handlers treat REDIRECTED as forwarded).
func isForwarded(_ flow: Flow) -> Bool {
    flow.verdict == .forwarded || flow.verdict == .redirected
}

/// A handler with one counter family whose labels are its own plus the context labels
/// (`contextFirst` puts those first, as `drop` does): the name, the options and the family that
/// `flow`, `drop`, `tcp`, `icmp`, `port-distribution`, `policy` and `flows-to-world` share.
/// Subclasses override `process(_:)`.
class CounterHandler: MetricHandler {
    let name: String
    let context: ContextOptions
    let counter: CounterFamily

    init(
        _ metric: MetricsConfig.Metric, family: String, help: String, labelNames: [String], contextFirst: Bool = false
    ) throws(MetricsConfig.ConfigError) {
        name = metric.name
        context = try ContextOptions(metric.options)
        counter = CounterFamily(
            name: hubbleNamespace + family, help: help,
            labelNames: contextFirst ? context.labelNames + labelNames : labelNames + context.labelNames)
    }

    var families: [any MetricFamily] { [counter] }

    func process(_ flow: Flow) {}
}
