extension FlowPrinter {
    /// One line of `hubble observe -o json`: a `GetFlowsResponse` in protojson with proto field names, fields in
    /// declaration order, enums as names, 64-bit integers as strings, zero values left out (`is_reply` is written
    /// whenever it is known), times in RFC 3339 with 0, 3, 6 or 9 fractional digits. No trailing newline.
    public static func json(_ f: Flow) -> String {
        var response = JSONText()
        response.raw("flow", flowObject(f))
        response.string("node_name", f.nodeName)
        response.raw("time", JSONText.quoted(CivilTime.rfc3339(f.time)))
        return response.finished
    }

    /// The `Flow` message alone (what `HUBBLE_COMPAT=legacy-json-output` prints).
    public static func flowJSON(_ f: Flow) -> String { flowObject(f) }

    private static func flowObject(_ f: Flow) -> String {
        var o = JSONText()
        o.raw("time", JSONText.quoted(CivilTime.rfc3339(f.time)))
        o.string("uuid", f.uuid)
        if let emitter = f.emitter {
            o.object("emitter") { e in
                e.string("name", emitter.name)
                e.string("version", emitter.version)
            }
        }
        if f.verdict != .unknown { o.raw("verdict", JSONText.quoted(f.verdict.name)) }
        o.number("drop_reason", f.dropReason)
        if let ip = f.ip {
            o.object("IP") { ipObject in
                ipObject.string("source", ip.source)
                ipObject.string("destination", ip.destination)
                if ip.ipVersion != .notUsed { ipObject.raw("ipVersion", JSONText.quoted(ip.ipVersion.name)) }
            }
        }
        if let l4 = f.l4 { o.object("l4") { layer4(&$0, l4) } }
        if let source = f.source { o.object("source") { endpoint(&$0, source) } }
        if let destination = f.destination { o.object("destination") { endpoint(&$0, destination) } }
        if f.type != .unknown { o.raw("Type", JSONText.quoted(f.type.name)) }
        o.string("node_name", f.nodeName)
        o.strings("source_names", f.sourceNames)
        o.strings("destination_names", f.destinationNames)
        if let l7 = f.l7 { o.object("l7") { layer7(&$0, l7, verdict: f.l7Verdict) } }
        if f.eventType.type != 0 || f.eventType.subType != 0 {
            o.object("event_type") { e in
                e.number("type", f.eventType.type)
                e.number("sub_type", f.eventType.subType)
            }
        }
        if f.trafficDirection != .unknown { o.raw("traffic_direction", JSONText.quoted(f.trafficDirection.name)) }
        o.number("policy_match_type", f.policyMatchType)
        if let point = f.traceObservationPoint, point != .unknown {
            o.raw("trace_observation_point", JSONText.quoted(point.name))
        }
        if f.traceReason != .unknown { o.raw("trace_reason", JSONText.quoted(f.traceReason.name)) }
        if f.dropReason != 0 {
            o.raw("drop_reason_desc", f.dropReasonDesc.name.map(JSONText.quoted) ?? String(f.dropReason))
        }
        if let isReply = f.isReply { o.raw("is_reply", isReply ? "true" : "false") }
        o.string("Summary", f.summary)
        for (key, policies) in [
            ("egress_allowed_by", f.egressAllowedBy), ("ingress_allowed_by", f.ingressAllowedBy),
            ("egress_denied_by", f.egressDeniedBy), ("ingress_denied_by", f.ingressDeniedBy),
        ] {
            o.array(key, policies.map(policyObject))
        }
        return o.finished
    }

    /// flow.proto `Policy` (name, namespace, labels, revision (never set), kind).
    private static func policyObject(_ p: Flow.Policy) -> String {
        var o = JSONText()
        o.string("name", p.name)
        o.string("namespace", p.namespace)
        o.strings("labels", p.labels)
        o.string("kind", p.kind)
        return o.finished
    }

    private static func layer4(_ o: inout JSONText, _ l4: Flow.Layer4) {
        switch l4 {
        case .tcp(let tcp):
            o.object("TCP") { t in
                t.number("source_port", tcp.sourcePort)
                t.number("destination_port", tcp.destinationPort)
                if let flags = tcp.flags {
                    t.object("flags") { fl in
                        for (flag, name) in Flow.TCPFlags.protoOrder { fl.flag(name, flags.contains(flag)) }
                    }
                }
            }
        case .udp(let ports), .sctp(let ports):
            o.object(l4.protocolName) { p in
                p.number("source_port", ports.sourcePort)
                p.number("destination_port", ports.destinationPort)
            }
        case .icmpv4(let icmp), .icmpv6(let icmp):
            o.object(l4.protocolName) { i in
                i.number("type", icmp.type)
                i.number("code", icmp.code)
            }
        }
    }

    private static func endpoint(_ o: inout JSONText, _ e: FlowEndpoint) {
        o.number("ID", e.id)
        o.number("identity", e.identity)
        o.string("namespace", e.namespace)
        o.strings("labels", e.labels)
        o.string("pod_name", e.podName)
    }

    /// `verdict`: the request flow's L7 verdict detail, written as two `headers` entries
    /// (`Flow.L7Verdict.headers`).
    private static func layer7(_ o: inout JSONText, _ l7: Flow.Layer7, verdict: Flow.L7Verdict?) {
        if l7.type != .unknown { o.raw("type", JSONText.quoted(l7.type.name)) }
        o.int64("latency_ns", l7.latencyNs)
        switch l7.record {
        case .dns(let dns):
            o.object("dns") { d in
                d.string("query", dns.query)
                d.strings("ips", dns.ips)
                d.number("ttl", dns.ttl)
                d.strings("cnames", dns.cnames)
                d.string("observation_source", dns.observationSource)
                d.number("rcode", dns.rcode)
                d.strings("qtypes", dns.qtypes)
                d.strings("rrtypes", dns.rrtypes)
            }
        case .http(let http):
            o.object("http") { h in
                h.number("code", http.code)
                h.string("method", http.method)
                h.string("url", http.url)
                h.string("protocol", http.protocol)
                let headers = ((verdict?.headers ?? []) + http.headers).map { header -> String in
                    var item = JSONText()
                    item.string("key", header.key)
                    item.string("value", header.value)
                    return item.finished
                }
                h.array("headers", headers)
            }
        case nil:
            break
        }
    }
}
