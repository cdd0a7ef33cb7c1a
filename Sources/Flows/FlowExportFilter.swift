import SluiceJSON

/// Hubble's exporter filters (`--hubble-export-allowlist` / `--hubble-export-denylist`): JSON
/// encoded `FlowFilter` objects of flow.proto, one or more separated by commas
/// (`{"verdict":["DROPPED"]},{"source_pod":["kube-system/"]}`). Inside one object every field
/// must hold and the values of a field are ORed; a flow matches the list when it matches any of
/// its objects. A flow is exported when it matches the allowlist (or the allowlist is empty) and
/// does not match the denylist.
///
/// The fields: `source_pod`, `destination_pod` (`ns/` or `ns/name` prefixes), `source_ip`,
/// `destination_ip`, `source_label`, `destination_label`, `source_port`, `destination_port`,
/// `source_identity`, `destination_identity`, `source_fqdn`, `destination_fqdn`, `verdict`,
/// `drop_reason_desc`, `event_type` (`[{"type":4}]`, optional `sub_type`), `protocol`,
/// `http_method`, `http_path`, `http_url`, `http_status_code`, `http_header`
/// (`[{"key":"k","value":"v"}]`), `traffic_direction`, `node_name`, `uuid`, `tcp_flags`
/// (`[{"SYN":true}]`), `ip_version` (`["IPv4"]`). Any other field is an error: a filter the
/// exporter cannot apply must not silently export everything.
public struct FlowExportFilter {
    /// One object per entry.
    private let filters: [FlowFilter]

    public init() { filters = [] }

    /// Parses a list; throws a message naming the field or the JSON error.
    public init(parsing text: String) throws(FlowFilter.Error) {
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\t" }
        guard !trimmed.isEmpty else {
            filters = []
            return
        }
        let value: JSONValue
        do {
            // Objects separated by commas are the members of one array.
            value = try JSONValue.parse(Array(("[" + text + "]").utf8))
        } catch {
            throw FlowFilter.Error("not JSON encoded flow filters (\(error)): \(text)")
        }
        guard case .array(let objects) = value else { throw FlowFilter.Error("not a flow filter: \(text)") }
        var out: [FlowFilter] = []
        for object in objects {
            guard case .object(let members) = object else {
                throw FlowFilter.Error("a flow filter is a JSON object: \(text)")
            }
            var filter = FlowFilter()
            for (key, value) in members { try Self.add(key, value, to: &filter) }
            out.append(filter)
        }
        filters = out
    }

    public var isEmpty: Bool { filters.isEmpty }

    /// Whether `flow` matches any of the objects (false for an empty list).
    public func matches(_ flow: Flow) -> Bool { filters.contains { $0.matches(flow) } }

    /// Whether the exporter writes `flow` with these allow and deny lists.
    public static func exports(_ flow: Flow, allow: FlowExportFilter, deny: FlowExportFilter) -> Bool {
        (allow.isEmpty || allow.matches(flow)) && !deny.matches(flow)
    }

    private static let simple: [String: FlowFilter.Option] = [
        "source_pod": .fromPod, "destination_pod": .toPod, "source_ip": .fromIP, "destination_ip": .toIP,
        "source_label": .fromLabel, "destination_label": .toLabel, "source_port": .fromPort,
        "destination_port": .toPort, "source_identity": .fromIdentity, "destination_identity": .toIdentity,
        "source_fqdn": .fromFQDN, "destination_fqdn": .toFQDN, "verdict": .verdict,
        "drop_reason_desc": .dropReasonDesc, "protocol": .protocol, "http_method": .httpMethod,
        "http_path": .httpPath, "http_url": .httpURL, "http_status_code": .httpStatus,
        "traffic_direction": .trafficDirection, "node_name": .nodeName, "uuid": .uuid, "ip_version": .ipVersion,
    ]

    private static func add(_ key: String, _ value: JSONValue, to filter: inout FlowFilter) throws(FlowFilter.Error) {
        guard case .array(let values) = value else {
            throw FlowFilter.Error("flow filter field \(key) is not a list")
        }
        for value in values {
            let text: String
            if let option = simple[key] {
                switch value {
                case .string(let s): text = s
                case .number(let n): text = n
                default: throw FlowFilter.Error("flow filter field \(key): not a string or number")
                }
                try filter.add(option, text)
                continue
            }
            guard case .object(let members) = value else {
                throw FlowFilter.Error("unknown or unsupported flow filter field: \(key)")
            }
            switch key {
            case "event_type":
                guard let type = number(members, "type") else {
                    throw FlowFilter.Error("flow filter field event_type: no type")
                }
                try filter.add(.type, number(members, "sub_type").map { "\(type):\($0)" } ?? "\(type)")
            case "http_header":
                guard case .string(let k)? = members.first(where: { $0.0 == "key" })?.1 else {
                    throw FlowFilter.Error("flow filter field http_header: no key")
                }
                var v = ""
                if case .string(let s)? = members.first(where: { $0.0 == "value" })?.1 { v = s }
                try filter.add(.httpHeader, k + ":" + v)
            case "tcp_flags":
                let names = members.compactMap { name, set in set == .bool(true) ? name : nil }
                try filter.add(.tcpFlags, names.joined(separator: ","))
            default:
                throw FlowFilter.Error("unknown or unsupported flow filter field: \(key)")
            }
        }
    }

    private static func number(_ members: [(String, JSONValue)], _ name: String) -> Int32? {
        guard case .number(let n)? = members.first(where: { $0.0 == name })?.1 else { return nil }
        return Int32(n)
    }
}
