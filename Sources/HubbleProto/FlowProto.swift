import Flows

/// `flow.Flow` (flow.proto) for a `Flows.Flow`: the fields Sluice fills, with Hubble's field
/// numbers. `encode` writes what `sluice observe -o json` prints (the same fields, so a stock
/// client decodes the same flow); `decode` reads it back (`sluice observe --server`).
public enum FlowProto {
    public static func encode(_ f: Flow) -> [UInt8] {
        var w = ProtoWriter()
        encode(f, into: &w)
        return w.bytes
    }

    public static func encode(_ f: Flow, into w: inout ProtoWriter) {
        encode(f, into: &w, cache: nil)
    }

    /// Encoded `Endpoint` messages of the endpoints seen lately: a stream of flows among a few
    /// endpoints (each with its label list) encodes each endpoint once. An entry is used only
    /// when the endpoint is equal to the one it was made from (same labels, names); at most
    /// `capacity` are kept (all are dropped when full). Owned by one encoder (the follow streams').
    public final class EndpointCache {
        public static let capacity = 1024
        private var entries: [UInt64: (endpoint: FlowEndpoint, bytes: [UInt8])] = [:]
        /// Endpoint messages encoded (a test counts them).
        public private(set) var encoded = 0

        public init() {}

        func bytes(_ e: FlowEndpoint) -> [UInt8] {
            let key = UInt64(e.id) << 32 | UInt64(e.identity)
            if let hit = entries[key], hit.endpoint == e { return hit.bytes }
            var w = ProtoWriter()
            endpoint(e, &w)
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = (e, w.bytes)
            encoded += 1
            return w.bytes
        }
    }

    /// `encode(f, into:)` with the endpoints' messages from `cache` when there is one.
    public static func encode(_ f: Flow, into w: inout ProtoWriter, cache: EndpointCache?) {
        w.timestamp(1, seconds: f.time.seconds, nanos: f.time.nanos)
        w.uint(2, UInt64(f.verdict.rawValue))
        w.uint(3, UInt64(f.dropReason))
        if let ip = f.ip {
            w.message(5) {
                $0.string(1, ip.source)
                $0.string(2, ip.destination)
                $0.uint(3, UInt64(ip.ipVersion.rawValue))
            }
        }
        if let l4 = f.l4 { w.message(6) { layer4(l4, &$0) } }
        if let source = f.source { endpointField(8, source, &w, cache) }
        if let destination = f.destination { endpointField(9, destination, &w, cache) }
        w.uint(10, UInt64(f.type.rawValue))
        w.string(11, f.nodeName)
        w.strings(13, f.sourceNames)
        w.strings(14, f.destinationNames)
        if let l7 = f.l7 { w.message(15) { layer7(l7, verdict: f.l7Verdict, &$0) } }
        if f.eventType.type != 0 || f.eventType.subType != 0 {
            w.message(19) {
                $0.int32(1, f.eventType.type)
                $0.int32(2, f.eventType.subType)
            }
        }
        w.uint(22, UInt64(f.trafficDirection.rawValue))
        w.uint(23, UInt64(f.policyMatchType))
        if let point = f.traceObservationPoint { w.uint(24, UInt64(point.rawValue)) }
        w.uint(25, UInt64(f.dropReason))
        if let isReply = f.isReply { w.message(26) { $0.bool(1, isReply) } }
        w.string(34, f.uuid)
        w.uint(36, UInt64(f.traceReason.rawValue))
        if let emitter = f.emitter {
            w.message(41) {
                $0.string(1, emitter.name)
                $0.string(2, emitter.version)
            }
        }
        w.string(100_000, f.summary)
        policies(21001, f.egressAllowedBy, &w)
        policies(21002, f.ingressAllowedBy, &w)
        policies(21004, f.egressDeniedBy, &w)
        policies(21005, f.ingressDeniedBy, &w)
    }

    private static func policies(_ field: Int, _ policies: [Flow.Policy], _ w: inout ProtoWriter) {
        for p in policies {
            w.message(field) {
                $0.string(1, p.name)
                $0.string(2, p.namespace)
                $0.strings(3, p.labels)
                $0.string(5, p.kind)
            }
        }
    }

    /// `TCPFlags` fields 1...8 in flow.proto's order.
    private static let tcpFlagOrder: [Flow.TCPFlags] = [.fin, .syn, .rst, .psh, .ack, .urg, .ece, .cwr]

    private static func layer4(_ l4: Flow.Layer4, _ w: inout ProtoWriter) {
        switch l4 {
        case .tcp(let t):
            w.message(1) {
                $0.uint(1, UInt64(t.sourcePort))
                $0.uint(2, UInt64(t.destinationPort))
                if let flags = t.flags {
                    $0.message(3) { m in
                        for i in 0..<tcpFlagOrder.count { m.bool(i + 1, flags.contains(tcpFlagOrder[i])) }
                    }
                }
            }
        case .udp(let u): w.message(2) { ports(u, &$0) }
        case .icmpv4(let i): w.message(3) { icmp(i, &$0) }
        case .icmpv6(let i): w.message(4) { icmp(i, &$0) }
        case .sctp(let s): w.message(5) { ports(s, &$0) }
        }
    }

    private static func headers(_ headers: [Flow.HTTP.Header], _ w: inout ProtoWriter) {
        for header in headers {
            w.message(5) { m in
                m.string(1, header.key)
                m.string(2, header.value)
            }
        }
    }

    private static func ports(_ p: Flow.Ports, _ w: inout ProtoWriter) {
        w.uint(1, UInt64(p.sourcePort))
        w.uint(2, UInt64(p.destinationPort))
    }

    private static func icmp(_ i: Flow.ICMP, _ w: inout ProtoWriter) {
        w.uint(1, UInt64(i.type))
        w.uint(2, UInt64(i.code))
    }

    private static func endpointField(
        _ field: Int, _ e: FlowEndpoint, _ w: inout ProtoWriter, _ cache: EndpointCache?
    ) {
        guard let cache else { return w.message(field) { endpoint(e, &$0) } }
        let bytes = cache.bytes(e)
        w.tag(field, .lengthDelimited)
        w.varint(UInt64(bytes.count))
        w.raw(bytes[...])
    }

    static func endpoint(_ e: FlowEndpoint, _ w: inout ProtoWriter) {
        w.uint(1, UInt64(e.id))
        w.uint(2, UInt64(e.identity))
        w.string(3, e.namespace)
        w.strings(4, e.labels)
        w.string(5, e.podName)
    }

    /// The L7 block; the proxy's verdict detail (`Flow.L7Verdict`) travels as the extra headers
    /// `-o json` prints it as.
    private static func layer7(_ l7: Flow.Layer7, verdict: Flow.L7Verdict?, _ w: inout ProtoWriter) {
        w.uint(1, UInt64(l7.type.rawValue))
        w.uint(2, l7.latencyNs)
        switch l7.record {
        case .dns(let d)?:
            w.message(100) {
                $0.string(1, d.query)
                $0.strings(2, d.ips)
                $0.uint(3, UInt64(d.ttl))
                $0.strings(4, d.cnames)
                $0.string(5, d.observationSource)
                $0.uint(6, UInt64(d.rcode))
                $0.strings(7, d.qtypes)
                $0.strings(8, d.rrtypes)
            }
        case .http(let h)?:
            w.message(101) {
                $0.uint(1, UInt64(h.code))
                $0.string(2, h.method)
                $0.string(3, h.url)
                $0.string(4, h.protocol)
                if let verdict { headers(verdict.headers, &$0) }
                headers(h.headers, &$0)
            }
        case nil: break
        }
    }
}
