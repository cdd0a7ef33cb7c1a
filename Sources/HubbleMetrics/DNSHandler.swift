import Flows

/// `dns`: `hubble_dns_queries_total` and `hubble_dns_responses_total{<context>, rcode, qtypes,
/// ips_returned[, query]}`, `hubble_dns_response_types_total{<context>, type, qtypes[, query]}`.
/// Options `query` (add the `query` label) and `ignoreAAAA` (skip flows whose only qtype is AAAA).
/// A dropped query counts as a query with rcode `Policy denied`; a response adds one
/// `response_types` sample per answer record type.
final class DNSHandler: MetricHandler {
    let name = "dns"
    let context: ContextOptions
    let includeQuery: Bool
    let ignoreAAAA: Bool
    let queries: CounterFamily
    let responses: CounterFamily
    let responseTypes: CounterFamily

    init(_ metric: MetricsConfig.Metric) throws(MetricsConfig.ConfigError) {
        context = try ContextOptions(metric.options)
        includeQuery = metric.option("query") != nil
        ignoreAAAA = metric.option("ignoreAAAA") != nil
        let query = includeQuery ? ["query"] : []
        let counts = context.labelNames + ["rcode", "qtypes", "ips_returned"] + query
        queries = CounterFamily(
            name: hubbleNamespace + "dns_queries_total", help: "Number of DNS queries observed", labelNames: counts)
        responses = CounterFamily(
            name: hubbleNamespace + "dns_responses_total", help: "Number of DNS queries observed", labelNames: counts)
        responseTypes = CounterFamily(
            name: hubbleNamespace + "dns_response_types_total", help: "Number of DNS queries observed",
            labelNames: context.labelNames + ["type", "qtypes"] + query)
    }

    var families: [any MetricFamily] { [queries, responses, responseTypes] }

    func process(_ flow: Flow) {
        guard let dns = flow.l7?.dns else { return }
        if ignoreAAAA, dns.qtypes == ["AAAA"] { return }
        let ctx = context.labelValues(flow)
        let qtypes = dns.qtypes.joined(separator: ",")
        let ips = String(dns.ips.count)
        let query = includeQuery ? [dns.query] : []
        if flow.verdict == .dropped {
            queries.add(ctx + ["Policy denied", qtypes, ips] + query)
        } else if flow.isReply != true {
            queries.add(ctx + ["", qtypes, ips] + query)
        } else {
            responses.add(ctx + [Self.rcodeText(dns.rcode), qtypes, ips] + query)
            for type in dns.rrtypes {
                responseTypes.add(ctx + [type, qtypes] + query)
            }
        }
    }

    /// The rcode texts of Hubble's DNS handler ("" for a code it does not name).
    static func rcodeText(_ rcode: UInt32) -> String {
        switch rcode {
        case 0: "No Error"
        case 1: "Format Error"
        case 2: "Server Failure"
        case 3: "Non-Existent Domain"
        case 4: "Not Implemented"
        case 5: "Query Refused"
        case 6: "Name Exists when it should not"
        case 7: "RR Set Exists when it should not"
        case 8: "RR Set that should exist does not"
        case 9: "Not Authorized"
        case 10: "Name not contained in zone"
        case 11: "DSO-TYPE Not Implemented"
        case 16: "Bad OPT Version"
        case 17: "Key not recognized"
        case 18: "Signature out of time window"
        case 19: "Bad TKEY Mode"
        case 20: "Duplicate key name"
        case 21: "Algorithm not supported"
        case 22: "Bad Truncation"
        case 23: "Bad/missing Server Cookie"
        default: ""
        }
    }
}
