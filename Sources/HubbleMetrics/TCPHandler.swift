import Flows

/// `tcp`: `hubble_tcp_flags_total{flag, family, <context>}`: FIN, SYN, SYN-ACK and RST of forwarded
/// TCP packets that carry flags (one flow may count under several flags).
final class TCPHandler: MetricHandler {
    let name = "tcp"
    let context: ContextOptions
    let tcpFlags: CounterFamily

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        context = try ContextOptions(metric.options)
        tcpFlags = CounterFamily(
            name: hubbleNamespace + "tcp_flags_total", help: "TCP flag occurrences",
            labelNames: ["flag", "family"] + context.labelNames)
    }

    var families: [any MetricFamily] { [tcpFlags] }

    func process(_ flow: Flow) {
        guard isForwarded(flow), let ip = flow.ip, case .tcp(let tcp)? = flow.l4, let flags = tcp.flags else { return }
        let rest = [ip.ipVersion.name] + context.labelValues(flow)
        if flags.contains(.fin) { tcpFlags.add(["FIN"] + rest) }
        if flags.contains(.syn) { tcpFlags.add([flags.contains(.ack) ? "SYN-ACK" : "SYN"] + rest) }
        if flags.contains(.rst) { tcpFlags.add(["RST"] + rest) }
    }
}
