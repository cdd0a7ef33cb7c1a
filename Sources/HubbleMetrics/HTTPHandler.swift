import Flows

/// `http` and `httpV2`.
///
/// - `http`: `hubble_http_requests_total{<context>, method, protocol, reporter}` per request flow,
///   `hubble_http_responses_total{<context>, method, protocol, status, reporter}` and
///   `hubble_http_request_duration_seconds{<context>, method, reporter}` per response flow.
/// - `httpV2`: response flows only, `hubble_http_requests_total{<context>, method, protocol, status,
///   reporter}` and the duration, with the context labels of the request (source and destination
///   swapped back, Hubble's `GetLabelValuesInvertSourceDestination`).
///
/// `reporter` is `client` for egress flows, `server` for ingress. `exemplars=true` is accepted;
/// the text format 0.0.4 carries no exemplars and Sluice's flows no trace context, so it adds none.
final class HTTPHandler: MetricHandler {
    let name: String
    let context: ContextOptions
    let v2: Bool
    let exemplars: Bool
    let requests: CounterFamily
    let responses: CounterFamily?
    let duration: HistogramFamily

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        name = metric.name
        v2 = metric.name == "httpV2"
        context = try ContextOptions(metric.options)
        exemplars = metric.option("exemplars") == "true"
        let ctx = context.labelNames
        requests = CounterFamily(
            name: hubbleNamespace + "http_requests_total", help: "Count of HTTP requests",
            labelNames: ctx + (v2 ? ["method", "protocol", "status", "reporter"] : ["method", "protocol", "reporter"]))
        responses =
            v2
            ? nil
            : CounterFamily(
                name: hubbleNamespace + "http_responses_total", help: "Count of HTTP responses",
                labelNames: ctx + ["method", "protocol", "status", "reporter"])
        duration = HistogramFamily(
            name: hubbleNamespace + "http_request_duration_seconds",
            help: "Quantiles of HTTP request duration in seconds", labelNames: ctx + ["method", "reporter"])
    }

    var families: [any MetricFamily] { [requests] + (responses.map { [$0] } ?? []) + [duration] }

    struct Key: Hashable {
        var method: String
        var `protocol`: String
        var code: UInt32
        var direction: Flow.TrafficDirection
    }

    private var requestCache = SeriesCache<Key>()
    private var responseCache = SeriesCache<Key>()
    private var durationCache = SeriesCache<Key>()

    func process(_ flow: Flow) {
        guard let l7 = flow.l7, let http = l7.http else { return }
        guard context.isEmpty else { return processWithContext(flow, l7, http) }
        let reporter = Self.reporter(flow)
        let seconds = Double(l7.latencyNs) / 1e9
        let code = l7.type == .response ? http.code : 0
        let key = Key(method: http.method, protocol: http.protocol, code: code, direction: flow.trafficDirection)
        let durationKey = Key(method: http.method, protocol: "", code: 0, direction: flow.trafficDirection)
        switch l7.type {
        case .request where !v2:
            requests.add(series: requestCache.counter(key, requests) { [http.method, http.protocol, reporter] })
        case .response:
            if v2 {
                requests.add(
                    series: requestCache.counter(key, requests) {
                        [http.method, http.protocol, String(http.code), reporter]
                    })
            } else if let responses {
                responses.add(
                    series: responseCache.counter(key, responses) {
                        [http.method, http.protocol, String(http.code), reporter]
                    })
            }
            duration.observe(
                series: durationCache.histogram(durationKey, duration) { [http.method, reporter] }, seconds)
        default: return
        }
    }

    static func reporter(_ flow: Flow) -> String {
        switch flow.trafficDirection {
        case .egress: "client"
        case .ingress: "server"
        default: "unknown"
        }
    }

    private func processWithContext(_ flow: Flow, _ l7: Flow.Layer7, _ http: Flow.HTTP) {
        let reporter = Self.reporter(flow)
        let seconds = Double(l7.latencyNs) / 1e9
        if v2 {
            guard l7.type == .response else { return }
            let ctx = context.labelValues(flow, invert: true)
            requests.add(ctx + [http.method, http.protocol, String(http.code), reporter])
            duration.observe(ctx + [http.method, reporter], seconds)
            return
        }
        let ctx = context.labelValues(flow)
        switch l7.type {
        case .request:
            requests.add(ctx + [http.method, http.protocol, reporter])
        case .response:
            responses?.add(ctx + [http.method, http.protocol, String(http.code), reporter])
            duration.observe(ctx + [http.method, reporter], seconds)
        default: return
        }
    }
}
