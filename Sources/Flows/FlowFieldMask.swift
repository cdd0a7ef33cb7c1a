import SluiceJSON

/// Hubble's export field mask (`--hubble-export-fieldmask`, cilium-agent): the flow fields an
/// exported line keeps, as protobuf field-mask paths over `Flow` with proto field names
/// (`time,source.namespace,verdict,l7.http`). A path keeps its field whole (`source` keeps the
/// whole endpoint); `a.b` keeps only `b` of `a`. As in Cilium's exporter, the line's own `time`
/// and `node_name` come from the masked flow, so they are left out when the mask leaves them out.
/// An empty mask keeps everything.
///
/// Paths are checked against `flow.proto`'s `Flow` message at start (`Error` names the bad one);
/// the parts below the first are not checked (a part naming no field keeps nothing).
/// Used by the exporter, off the request path.
public struct FlowFieldMask: Sendable, Equatable {
    /// Why a mask is refused.
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The paths, each split at `.`.
    public let paths: [[String]]

    /// No mask: everything kept.
    public init() { paths = [] }

    /// Parses Hubble's syntax: comma-separated paths (spaces around them ignored).
    public init(parsing text: String) throws(Error) {
        var paths: [[String]] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let path = item.trimmingSpaces
            let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !path.isEmpty, !parts.contains(where: \.isEmpty) else {
                throw Error(description: "invalid field mask path \"\(path)\": empty field name")
            }
            guard Self.flowFields.contains(parts[0]) else {
                throw Error(description: "invalid field mask path \"\(path)\": Flow has no field \"\(parts[0])\"")
            }
            paths.append(parts)
        }
        self.paths = paths
    }

    /// Whether the mask removes anything.
    public var isActive: Bool { !paths.isEmpty }

    /// `flow` (a printed `Flow` object's members) with only the masked fields.
    public func apply(to flow: [(String, JSONValue)]) -> [(String, JSONValue)] {
        guard isActive else { return flow }
        return Self.keep(flow, paths)
    }

    /// A `GetFlowsResponse` line (`{"flow":{...},"node_name":...,"time":...}`) masked: its flow
    /// masked, and `node_name` / `time` only when the masked flow kept them. Other lines (lost
    /// events) and lines that are no JSON object come back unchanged.
    public func apply(toLine line: String) -> String {
        guard isActive, case .object(let top)? = try? JSONValue.parse(Array(line.utf8)),
            let flowIndex = top.firstIndex(where: { $0.0 == "flow" }), case .object(let flow) = top[flowIndex].1
        else { return line }
        let masked = apply(to: flow)
        var out: [(String, JSONValue)] = [("flow", .object(masked))]
        for (key, value) in top where key == "node_name" || key == "time" {
            if masked.contains(where: { $0.0 == key }) { out.append((key, value)) }
        }
        return String(decoding: JSONValue.object(out).serialized(), as: UTF8.self)
    }

    private static func keep(_ object: [(String, JSONValue)], _ paths: [[String]]) -> [(String, JSONValue)] {
        var out: [(String, JSONValue)] = []
        for (key, value) in object {
            let below = paths.filter { $0.first == key }
            if below.isEmpty { continue }
            if below.contains(where: { $0.count == 1 }) {
                out.append((key, value))
            } else if case .object(let inner) = value {
                let kept = keep(inner, below.map { Array($0.dropFirst()) })
                if !kept.isEmpty { out.append((key, .object(kept))) }
            }
        }
        return out
    }

    /// The fields of `flow.proto`'s `Flow` message (proto names).
    static let flowFields: Set<String> = [
        "time", "uuid", "emitter", "verdict", "drop_reason", "auth_type", "ethernet", "IP", "l4", "tunnel",
        "source", "destination", "Type", "node_name", "node_labels", "source_names", "destination_names", "l7",
        "reply", "event_type", "source_service", "destination_service", "traffic_direction", "policy_match_type",
        "trace_observation_point", "trace_reason", "file", "ip_trace_id", "drop_reason_desc", "is_reply",
        "debug_capture_point", "interface", "proxy_port", "trace_context", "sock_xlate_point", "socket_cookie",
        "cgroup_id", "Summary", "extensions", "egress_allowed_by", "ingress_allowed_by", "egress_denied_by",
        "ingress_denied_by", "policy_log", "aggregate",
    ]
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
