import Flows

/// flow.proto `FlowFilter` → `FlowFilter.Criteria`, field by field with Hubble's numbers;
/// repeated scalars are read packed or not. Set fields Sluice has no criterion for are named in
/// `unsupported` (the server refuses them, rather than show flows the filter would hide).
public enum FlowFilterProto {
    static let unsupportedFields: [Int: String] = [
        34: "source_ip_xlated", 16: "source_service", 26: "source_workload", 37: "source_cluster_name",
        17: "destination_service", 27: "destination_workload", 38: "destination_cluster_name", 35: "interface",
        15: "reply", 18: "dns_query", 36: "node_labels", 28: "trace_id", 39: "ip_trace_id", 40: "encrypted",
        999: "experimental",
    ]

    public static func decode(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> FlowFilter.Criteria {
        var c = FlowFilter.Criteria()
        var r = ProtoReader(bytes)
        while let (field, v) = try r.next() {
            switch field {
            case 29: c.uuid.append(try v.string())
            case 1: c.sourceIP.append(try v.string())
            case 2: c.sourcePod.append(try v.string())
            case 7: c.sourceFQDN.append(try v.string())
            case 10: c.sourceLabel.append(try v.string())
            case 3: c.destinationIP.append(try v.string())
            case 4: c.destinationPod.append(try v.string())
            case 8: c.destinationFQDN.append(try v.string())
            case 11: c.destinationLabel.append(try v.string())
            case 30: c.trafficDirection += try v.varints()
            case 5: c.verdict += try v.varints()
            case 33: c.dropReasonDesc += try v.varints()
            case 6: c.eventType.append(try eventType(v.payload()))
            case 9: c.httpStatusCode.append(try v.string())
            case 12: c.protocol.append(try v.string())
            case 13: c.sourcePort.append(try v.string())
            case 14: c.destinationPort.append(try v.string())
            case 19: c.sourceIdentity += try v.varints()
            case 20: c.destinationIdentity += try v.varints()
            case 21: c.httpMethod.append(try v.string())
            case 22: c.httpPath.append(try v.string())
            case 31: c.httpURL.append(try v.string())
            case 32: c.httpHeader.append(try FlowProto.header(v.payload()))
            case 23: c.tcpFlags.append(try tcpFlags(v.payload()))
            case 24: c.nodeName.append(try v.string())
            case 25: c.ipVersion += try v.varints()
            default:
                if let name = unsupportedFields[field], !c.unsupported.contains(name) { c.unsupported.append(name) }
            }
        }
        return c
    }

    private static func eventType(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> FlowFilter.EventTypeCriterion {
        var type: Int32 = 0
        var matchSubType = false
        var subType: Int32 = 0
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            switch n {
            case 1: type = Int32(truncatingIfNeeded: try v.varint())
            case 2: matchSubType = try v.varint() != 0
            case 3: subType = Int32(truncatingIfNeeded: try v.varint())
            default: break
            }
        }
        return FlowFilter.EventTypeCriterion(type: type, subType: matchSubType ? subType : nil)
    }

    private static func tcpFlags(_ bytes: ArraySlice<UInt8>) throws(ProtoError) -> (flags: Flow.TCPFlags, ns: Bool) {
        var flags = Flow.TCPFlags()
        var ns = false
        let order: [Flow.TCPFlags] = [.fin, .syn, .rst, .psh, .ack, .urg, .ece, .cwr]
        var r = ProtoReader(bytes)
        while let (n, v) = try r.next() {
            guard try v.varint() != 0 else { continue }
            if n >= 1 && n <= 8 { flags.insert(order[n - 1]) }
            if n == 9 { ns = true }
        }
        return (flags, ns)
    }

    /// The message's bytes (repeated scalars packed, as proto3 writes them); `unsupported` is
    /// not encoded.
    public static func encode(_ c: FlowFilter.Criteria) -> [UInt8] {
        var w = ProtoWriter()
        func packed(_ field: Int, _ values: [UInt64]) {
            guard !values.isEmpty else { return }
            var p = ProtoWriter()
            for v in values { p.varint(v) }
            w.lengthDelimited(field, p.bytes)
        }
        w.strings(1, c.sourceIP)
        w.strings(2, c.sourcePod)
        w.strings(3, c.destinationIP)
        w.strings(4, c.destinationPod)
        packed(5, c.verdict)
        for e in c.eventType {
            w.message(6) {
                $0.int32(1, e.type)
                $0.bool(2, e.subType != nil)
                $0.int32(3, e.subType ?? 0)
            }
        }
        w.strings(7, c.sourceFQDN)
        w.strings(8, c.destinationFQDN)
        w.strings(9, c.httpStatusCode)
        w.strings(10, c.sourceLabel)
        w.strings(11, c.destinationLabel)
        w.strings(12, c.protocol)
        w.strings(13, c.sourcePort)
        w.strings(14, c.destinationPort)
        packed(19, c.sourceIdentity)
        packed(20, c.destinationIdentity)
        w.strings(21, c.httpMethod)
        w.strings(22, c.httpPath)
        for t in c.tcpFlags {
            w.message(23) { m in
                for (i, flag) in [Flow.TCPFlags.fin, .syn, .rst, .psh, .ack, .urg, .ece, .cwr].enumerated() {
                    m.bool(i + 1, t.flags.contains(flag))
                }
                m.bool(9, t.ns)
            }
        }
        w.strings(24, c.nodeName)
        packed(25, c.ipVersion)
        w.strings(29, c.uuid)
        packed(30, c.trafficDirection)
        w.strings(31, c.httpURL)
        for h in c.httpHeader {
            w.message(32) {
                $0.string(1, h.key)
                $0.string(2, h.value)
            }
        }
        packed(33, c.dropReasonDesc)
        return w.bytes
    }
}
