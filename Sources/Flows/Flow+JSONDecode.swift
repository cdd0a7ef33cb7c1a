import SluiceJSON
import SluiceModel

extension Flow {
    /// Why a line of exported flows could not be read.
    public struct JSONDecodeError: Error, Equatable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads one line of `hubble observe -o json` / `sluice observe -o json` output back into a flow: a
    /// `GetFlowsResponse` (`{"flow":{...},"node_name":...,"time":...}`) or a bare `Flow` object (legacy JSON).
    /// Returns nil for responses that carry no flow (`node_status`, `lost_events`). Fields Sluice does not model
    /// are ignored; `Summary` is derived again from the other fields.
    public static func fromJSON(_ line: String) throws(JSONDecodeError) -> Flow? {
        let value: JSONValue
        do {
            value = try JSONValue.parse(Array(line.utf8))
        } catch {
            throw JSONDecodeError("not JSON: \(error.message)")
        }
        guard case .object(let top) = value else { throw JSONDecodeError("not a JSON object") }
        let object: [(String, JSONValue)]
        if let flow = member(top, "flow") {
            guard case .object(let inner) = flow else { throw JSONDecodeError("\"flow\" is not an object") }
            object = inner
        } else if member(top, "lost_events") != nil || member(top, "node_status") != nil {
            return nil
        } else {
            object = top
        }
        return try decodeFlow(object)
    }

    private static func decodeFlow(_ o: [(String, JSONValue)]) throws(JSONDecodeError) -> Flow {
        var f = Flow()
        if let t = string(o, "time") {
            guard let ts = Timestamp(rfc3339: t) else { throw JSONDecodeError("invalid time: \(t)") }
            f.time = ts
        }
        f.uuid = string(o, "uuid") ?? ""
        if let e = object(o, "emitter") {
            f.emitter = Emitter(name: string(e, "name") ?? "", version: string(e, "version") ?? "")
        }
        f.verdict = enumValue(o, "verdict", Verdict.allCases, \.name) ?? .unknown
        f.dropReason = UInt32(truncatingIfNeeded: number(o, "drop_reason"))
        if let ip = object(o, "IP") {
            f.ip = IP(
                source: string(ip, "source") ?? "", destination: string(ip, "destination") ?? "",
                ipVersion: enumValue(ip, "ipVersion", IPVersion.allCases, \.name) ?? .notUsed)
        }
        if let l4 = object(o, "l4") {
            if let tcp = object(l4, "TCP") {
                var flags: TCPFlags?
                if let fl = object(tcp, "flags") {
                    var set = TCPFlags()
                    for (flag, name) in TCPFlags.protoOrder where bool(fl, name) == true { set.insert(flag) }
                    flags = set
                }
                f.l4 = .tcp(
                    TCP(
                        sourcePort: UInt16(truncatingIfNeeded: number(tcp, "source_port")),
                        destinationPort: UInt16(truncatingIfNeeded: number(tcp, "destination_port")), flags: flags))
            } else if let udp = object(l4, "UDP") {
                f.l4 = .udp(
                    UDP(
                        sourcePort: UInt16(truncatingIfNeeded: number(udp, "source_port")),
                        destinationPort: UInt16(truncatingIfNeeded: number(udp, "destination_port"))))
            }
        }
        f.source = object(o, "source").map(endpoint)
        f.destination = object(o, "destination").map(endpoint)
        f.type = enumValue(o, "Type", FlowType.allCases, \.name) ?? .unknown
        f.nodeName = string(o, "node_name") ?? ""
        f.sourceNames = strings(o, "source_names")
        f.destinationNames = strings(o, "destination_names")
        if let l7 = object(o, "l7") {
            var layer = Layer7(
                type: enumValue(l7, "type", L7FlowType.allCases, \.name) ?? .unknown,
                latencyNs: UInt64(truncatingIfNeeded: number(l7, "latency_ns")))
            if let h = object(l7, "http") {
                var headers: [HTTP.Header] = []
                if case .array(let items)? = member(h, "headers") {
                    for case .object(let item) in items {
                        headers.append(HTTP.Header(key: string(item, "key") ?? "", value: string(item, "value") ?? ""))
                    }
                }
                f.l7Verdict = L7Verdict.take(from: &headers)
                layer.record = .http(
                    HTTP(
                        code: UInt32(truncatingIfNeeded: number(h, "code")), method: string(h, "method") ?? "",
                        url: string(h, "url") ?? "", protocol: string(h, "protocol") ?? "",
                        headers: headers))
            } else if let d = object(l7, "dns") {
                layer.record = .dns(
                    DNS(
                        query: string(d, "query") ?? "", ips: strings(d, "ips"),
                        ttl: UInt32(truncatingIfNeeded: number(d, "ttl")), cnames: strings(d, "cnames"),
                        observationSource: string(d, "observation_source") ?? "",
                        rcode: UInt32(truncatingIfNeeded: number(d, "rcode")),
                        qtypes: strings(d, "qtypes"), rrtypes: strings(d, "rrtypes")))
            }
            f.l7 = layer
        }
        if let e = object(o, "event_type") {
            f.eventType = EventType(
                type: Int32(truncatingIfNeeded: number(e, "type")),
                subType: Int32(truncatingIfNeeded: number(e, "sub_type")))
        }
        f.trafficDirection = enumValue(o, "traffic_direction", TrafficDirection.allCases, \.name) ?? .unknown
        f.policyMatchType = UInt32(truncatingIfNeeded: number(o, "policy_match_type"))
        switch member(o, "trace_observation_point") {
        case .string(let s)?: f.traceObservationPoint = TraceObservationPoint.allCases.first { $0.name == s }
        case .number(let n)?: f.traceObservationPoint = UInt32(n).flatMap { TraceObservationPoint(rawValue: $0) }
        default: break
        }
        f.traceReason = enumValue(o, "trace_reason", TraceReason.allCases, \.name) ?? .unknown
        if f.dropReason == 0, let desc = string(o, "drop_reason_desc"), let reason = DropReason(name: desc) {
            f.dropReason = reason.rawValue
        }
        f.isReply = bool(o, "is_reply")
        f.egressAllowedBy = policies(o, "egress_allowed_by")
        f.ingressAllowedBy = policies(o, "ingress_allowed_by")
        f.egressDeniedBy = policies(o, "egress_denied_by")
        f.ingressDeniedBy = policies(o, "ingress_denied_by")
        return f
    }

    /// flow.proto `repeated Policy` (name, namespace, labels, kind).
    private static func policies(_ o: [(String, JSONValue)], _ name: String) -> [Policy] {
        guard case .array(let items)? = member(o, name) else { return [] }
        var result: [Policy] = []
        for case .object(let item) in items {
            result.append(
                Policy(
                    name: string(item, "name") ?? "", namespace: string(item, "namespace") ?? "",
                    kind: string(item, "kind") ?? "", labels: strings(item, "labels")))
        }
        return result
    }

    private static func endpoint(_ o: [(String, JSONValue)]) -> FlowEndpoint {
        FlowEndpoint(
            id: UInt32(truncatingIfNeeded: number(o, "ID")),
            identity: UInt32(truncatingIfNeeded: number(o, "identity")),
            namespace: string(o, "namespace") ?? "", labels: strings(o, "labels"), podName: string(o, "pod_name") ?? "")
    }

    private static func member(_ o: [(String, JSONValue)], _ name: String) -> JSONValue? {
        o.first { $0.0 == name }?.1
    }

    private static func object(_ o: [(String, JSONValue)], _ name: String) -> [(String, JSONValue)]? {
        if case .object(let inner)? = member(o, name) { return inner }
        return nil
    }

    private static func string(_ o: [(String, JSONValue)], _ name: String) -> String? {
        if case .string(let s)? = member(o, name) { return s }
        return nil
    }

    private static func bool(_ o: [(String, JSONValue)], _ name: String) -> Bool? {
        if case .bool(let b)? = member(o, name) { return b }
        return nil
    }

    /// A protojson integer: a number, or a string for 64-bit fields; 0 when absent or not an integer.
    private static func number(_ o: [(String, JSONValue)], _ name: String) -> Int64 {
        switch member(o, name) {
        case .number(let s)?, .string(let s)?:
            return Int64(s) ?? Int64(UInt64(s).map { Int64(truncatingIfNeeded: $0) } ?? 0)
        default: return 0
        }
    }

    private static func strings(_ o: [(String, JSONValue)], _ name: String) -> [String] {
        guard case .array(let items)? = member(o, name) else { return [] }
        return items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    /// An enum written by name (protojson) or by number.
    private static func enumValue<E: RawRepresentable>(
        _ o: [(String, JSONValue)], _ name: String, _ all: [E],
        _ nameOf: (E) -> String
    ) -> E? where E.RawValue == UInt8 {
        switch member(o, name) {
        case .string(let s)?: return all.first { nameOf($0) == s }
        case .number(let n)?: return UInt8(n).flatMap { E(rawValue: $0) }
        default: return nil
        }
    }
}
