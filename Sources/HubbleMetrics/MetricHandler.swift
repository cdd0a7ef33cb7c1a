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
        switch flow.l4 {
        case .tcp?: return "TCP"
        case .udp?: return "UDP"
        case .icmpv4?: return "ICMPv4"
        case .icmpv6?: return "ICMPv6"
        case .sctp?: return "SCTP"
        case nil: return "Unknown L4"
        }
    default: return "Unknown flow"
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
