import Flows

/// `tcp`: `hubble_tcp_flags_total{flag, family, <context>}`: FIN, SYN, SYN-ACK and RST of forwarded
/// TCP packets that carry flags (one flow may count under several flags).
final class TCPHandler: CounterHandler {

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        try super.init(metric, family: "tcp_flags_total", help: "TCP flag occurrences", labelNames: ["flag", "family"])
    }

    struct Key: Hashable {
        var flag: String
        var family: Flow.IPVersion
    }

    private var cache = SeriesCache<Key>()

    override func process(_ flow: Flow) {
        guard isForwarded(flow), let ip = flow.ip, case .tcp(let tcp)? = flow.l4, let flags = tcp.flags else { return }
        if flags.contains(.fin) { count("FIN", ip.ipVersion, flow) }
        if flags.contains(.syn) { count(flags.contains(.ack) ? "SYN-ACK" : "SYN", ip.ipVersion, flow) }
        if flags.contains(.rst) { count("RST", ip.ipVersion, flow) }
    }

    private func count(_ flag: String, _ family: Flow.IPVersion, _ flow: Flow) {
        guard context.isEmpty else { return counter.add([flag, family.name] + context.labelValues(flow)) }
        counter.add(series: cache.counter(Key(flag: flag, family: family), counter) { [flag, family.name] })
    }
}
