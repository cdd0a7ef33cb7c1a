import Flows

/// `port-distribution`: `hubble_port_distribution_total{protocol, port, <context>}`: destination
/// ports of forwarded flows known not to be replies (ICMP counts under port 0).
final class PortDistributionHandler: CounterHandler {

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        try super.init(
            metric, family: "port_distribution_total", help: "Numbers of packets distributed by destination port",
            labelNames: ["protocol", "port"])
    }

    override func process(_ flow: Flow) {
        // A flow not known to be a request (is_reply unset) is skipped too, as Hubble does.
        guard isForwarded(flow), let l4 = flow.l4, flow.isReply == false else { return }
        let head: [String]
        switch l4 {
        case .tcp(let t): head = ["TCP", String(t.destinationPort)]
        case .udp(let u): head = ["UDP", String(u.destinationPort)]
        case .sctp(let s): head = ["SCTP", String(s.destinationPort)]
        case .icmpv4: head = ["ICMPv4", "0"]
        case .icmpv6: head = ["ICMPv6", "0"]
        }
        counter.add(head + context.labelValues(flow))
    }
}
