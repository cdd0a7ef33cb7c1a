import Flows
import SluiceModel

extension FlowProto {
    /// A `Flows.Flow` from `flow.Flow` bytes (fields Sluice does not model are skipped, as
    /// protobuf readers skip unknown fields); malformed bytes are a `ProtoError`.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Flow {
        var f = Flow()
        var r = ProtoReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: f.time = try timestamp(value.payload())
            case 2: f.verdict = Flow.Verdict(rawValue: UInt8(truncatingIfNeeded: try value.varint())) ?? .unknown
            case 3: f.dropReason = UInt32(truncatingIfNeeded: try value.varint())
            case 5: f.ip = try ip(value.payload())
            case 6: f.l4 = try layer4(value.payload())
            case 8: f.source = try endpoint(value.payload())
            case 9: f.destination = try endpoint(value.payload())
            case 10: f.type = Flow.FlowType(rawValue: UInt8(truncatingIfNeeded: try value.varint())) ?? .unknown
            case 11: f.nodeName = try value.string()
            case 13: f.sourceNames.append(try value.string())
            case 14: f.destinationNames.append(try value.string())
            case 15:
                var l7 = try layer7(value.payload())
                if case .http(var http)? = l7.record {
                    f.l7Verdict = Flow.L7Verdict.take(from: &http.headers)
                    l7.record = .http(http)
                }
                f.l7 = l7
            case 19:
                var e = ProtoReader(try value.payload())
                while let (n, v) = try e.next() {
                    if n == 1 { f.eventType.type = Int32(truncatingIfNeeded: try v.varint()) }
                    if n == 2 { f.eventType.subType = Int32(truncatingIfNeeded: try v.varint()) }
                }
            case 22:
                f.trafficDirection =
                    TrafficDirection(rawValue: UInt8(truncatingIfNeeded: try value.varint())) ?? .unknown
            case 23: f.policyMatchType = UInt32(truncatingIfNeeded: try value.varint())
            case 24: f.traceObservationPoint = .init(rawValue: UInt32(truncatingIfNeeded: try value.varint()))
            case 25: f.dropReason = UInt32(truncatingIfNeeded: try value.varint())
            case 26:
                var b = ProtoReader(try value.payload())
                f.isReply = false
                while let (n, v) = try b.next() {
                    if n == 1 { f.isReply = try v.varint() != 0 }
                }
            case 34: f.uuid = try value.string()
            case 36: f.traceReason = .init(rawValue: UInt8(truncatingIfNeeded: try value.varint())) ?? .unknown
            case 41:
                var e = ProtoReader(try value.payload())
                var emitter = Flow.Emitter(name: "", version: "")
                while let (n, v) = try e.next() {
                    if n == 1 { emitter.name = try v.string() }
                    if n == 2 { emitter.version = try v.string() }
                }
                f.emitter = emitter
            case 21001: f.egressAllowedBy.append(try policy(value.payload()))
            case 21002: f.ingressAllowedBy.append(try policy(value.payload()))
            case 21004: f.egressDeniedBy.append(try policy(value.payload()))
            case 21005: f.ingressDeniedBy.append(try policy(value.payload()))
            default: break
            }
        }
        return f
    }

    /// google.protobuf.Timestamp.
    public static func timestamp(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Flow.Timestamp {
        var t = Flow.Timestamp()
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            if n == 1 { t.seconds = Int64(bitPattern: try v.varint()) }
            if n == 2 { t.nanos = Int32(truncatingIfNeeded: try v.varint()) }
        }
        guard t.nanos >= 0, t.nanos < 1_000_000_000 else { throw ProtoError("timestamp nanos out of range") }
        return t
    }

    private static func ip(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Flow.IP {
        var ip = Flow.IP(source: "", destination: "", ipVersion: .notUsed)
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            switch n {
            case 1: ip.source = try v.string()
            case 2: ip.destination = try v.string()
            case 3: ip.ipVersion = Flow.IPVersion(rawValue: UInt8(truncatingIfNeeded: try v.varint())) ?? .notUsed
            default: break
            }
        }
        return ip
    }

    private static func pair(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> (UInt64, UInt64, ArraySlice<UInt8>?) {
        var a: UInt64 = 0
        var b: UInt64 = 0
        var third: ArraySlice<UInt8>?
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            switch n {
            case 1: a = try v.varint()
            case 2: b = try v.varint()
            case 3: third = try v.payload()
            default: break
            }
        }
        return (a, b, third)
    }

    private static func layer4(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Flow.Layer4? {
        var l4: Flow.Layer4?
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            let (a, b, third) = try pair(try v.payload())
            let ports = Flow.Ports(
                sourcePort: UInt16(truncatingIfNeeded: a), destinationPort: UInt16(truncatingIfNeeded: b))
            let icmp = Flow.ICMP(type: UInt8(truncatingIfNeeded: a), code: UInt8(truncatingIfNeeded: b))
            switch n {
            case 1:
                var flags: Flow.TCPFlags?
                if let third {
                    var set = Flow.TCPFlags()
                    var fr = ProtoReader(third)
                    let order: [Flow.TCPFlags] = [.fin, .syn, .rst, .psh, .ack, .urg, .ece, .cwr]
                    while let (fn, fv) = try fr.next() {
                        if fn >= 1 && fn <= 8, try fv.varint() != 0 { set.insert(order[fn - 1]) }
                    }
                    flags = set
                }
                l4 = .tcp(Flow.TCP(sourcePort: ports.sourcePort, destinationPort: ports.destinationPort, flags: flags))
            case 2: l4 = .udp(ports)
            case 3: l4 = .icmpv4(icmp)
            case 4: l4 = .icmpv6(icmp)
            case 5: l4 = .sctp(ports)
            default: break
            }
        }
        return l4
    }

    private static func endpoint(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> FlowEndpoint {
        var id: UInt32 = 0
        var identity: UInt32 = 0
        var namespace = ""
        var labels: [String] = []
        var pod = ""
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            switch n {
            case 1: id = UInt32(truncatingIfNeeded: try v.varint())
            case 2: identity = UInt32(truncatingIfNeeded: try v.varint())
            case 3: namespace = try v.string()
            case 4: labels.append(try v.string())
            case 5: pod = try v.string()
            default: break
            }
        }
        return FlowEndpoint(id: id, identity: identity, namespace: namespace, labels: labels, podName: pod)
    }

    private static func layer7(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Flow.Layer7 {
        var l7 = Flow.Layer7(type: .unknown)
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            switch n {
            case 1: l7.type = Flow.L7FlowType(rawValue: UInt8(truncatingIfNeeded: try v.varint())) ?? .unknown
            case 2: l7.latencyNs = try v.varint()
            case 100: l7.record = .dns(try dns(try v.payload()))
            case 101: l7.record = .http(try http(try v.payload()))
            default: break
            }
        }
        return l7
    }

    private static func dns(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Flow.DNS {
        var d = Flow.DNS(observationSource: "")
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            switch n {
            case 1: d.query = try v.string()
            case 2: d.ips.append(try v.string())
            case 3: d.ttl = UInt32(truncatingIfNeeded: try v.varint())
            case 4: d.cnames.append(try v.string())
            case 5: d.observationSource = try v.string()
            case 6: d.rcode = UInt32(truncatingIfNeeded: try v.varint())
            case 7: d.qtypes.append(try v.string())
            case 8: d.rrtypes.append(try v.string())
            default: break
            }
        }
        return d
    }

    private static func http(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Flow.HTTP {
        var h = Flow.HTTP()
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            switch n {
            case 1: h.code = UInt32(truncatingIfNeeded: try v.varint())
            case 2: h.method = try v.string()
            case 3: h.url = try v.string()
            case 4: h.protocol = try v.string()
            case 5: h.headers.append(try header(try v.payload()))
            default: break
            }
        }
        return h
    }

    /// flow.HTTPHeader.
    static func header(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Flow.HTTP.Header {
        var key = ""
        var value = ""
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            if n == 1 { key = try v.string() }
            if n == 2 { value = try v.string() }
        }
        return Flow.HTTP.Header(key: key, value: value)
    }

    private static func policy(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> Flow.Policy {
        var name = ""
        var namespace = ""
        var labels: [String] = []
        var kind = ""
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            switch n {
            case 1: name = try v.string()
            case 2: namespace = try v.string()
            case 3: labels.append(try v.string())
            case 5: kind = try v.string()
            default: break
            }
        }
        return Flow.Policy(name: name, namespace: namespace, kind: kind, labels: labels)
    }
}
