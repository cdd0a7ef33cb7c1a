import Flows

/// `icmp`: `hubble_icmp_total{family, type, <context>}`, every flow with an ICMP header, the type
/// as gopacket names it (`EchoRequest`, `DestinationUnreachable(Port)`).
///
/// Hubble writes `family="IPv4"` for ICMPv6 messages too (its handler's literal); Sluice keeps that,
/// so queries written against Hubble find the same series.
final class ICMPHandler: CounterHandler {

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        try super.init(metric, family: "icmp_total", help: "Number of ICMP messages", labelNames: ["family", "type"])
    }

    override func process(_ flow: Flow) {
        switch flow.l4 {
        case .icmpv4?, .icmpv6?:
            // The summary of an L3/L4 ICMP flow is `ICMPv4 <type text>` / `ICMPv6 <type text>`.
            var probe = flow
            probe.l7 = nil
            let text = String(probe.summary.dropFirst("ICMPv4 ".count))
            counter.add(["IPv4", text] + context.labelValues(flow))
        default: return
        }
    }
}
