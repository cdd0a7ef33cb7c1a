/// `GetFlowsRequest.field_mask` (a `google.protobuf.FieldMask` over `flow.Flow`): the flow fields
/// a GetFlows answer carries, as proto field-name paths (`source.namespace`, `l7.http.code`,
/// `verdict`). A path keeps its field whole; `a.b` keeps only `b` of `a`. `node_name` and `time`
/// of the response itself are not part of the flow and stay, as in Hubble.
///
/// Paths are checked against the `flow.Flow` fields Sluice serves (`proto/flow/flow.proto`, with
/// Hubble's names and numbers) when the request arrives: a name that is not there is refused
/// (INVALID_ARGUMENT naming it), like filter fields Sluice cannot apply. `apply` copies the kept
/// fields of an encoded `Flow` (recursing into sub-messages for longer paths), so a flow is
/// encoded once however many follow streams want it, and each masked stream sends only its
/// fields.
public struct FlowProtoMask: Sendable, Equatable {
    /// Why a mask is refused.
    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// What is kept of one message: everything, or the listed fields (by number).
    final class Node: Sendable, Equatable {
        let keepAll: Bool
        let children: [Int: Node]
        init(keepAll: Bool, children: [Int: Node]) {
            self.keepAll = keepAll
            self.children = children
        }
        static func == (a: Node, b: Node) -> Bool { a.keepAll == b.keepAll && a.children == b.children }
    }

    /// A message's fields by proto name: number and, for message fields, their message.
    final class Schema: Sendable {
        let fields: [String: (number: Int, message: Schema?)]
        init(_ fields: [String: (number: Int, message: Schema?)]) { self.fields = fields }
    }

    let root: Node
    /// The paths as given.
    public let paths: [String]

    /// Whether the mask removes anything (an empty FieldMask keeps the whole flow).
    public var isActive: Bool { !paths.isEmpty }

    /// No mask.
    public init() {
        root = Node(keepAll: true, children: [:])
        paths = []
    }

    /// The mask of `paths`; every part of every path must name a field of its message.
    public init(paths: [String]) throws(Error) {
        self.paths = paths
        guard !paths.isEmpty else {
            root = Node(keepAll: true, children: [:])
            return
        }
        var numbered: [[Int]] = []
        for path in paths {
            var schema: Schema? = Self.flow
            var numbers: [Int] = []
            let parts = path.split(separator: ".", omittingEmptySubsequences: false)
            for part in parts {
                guard let message = schema else {
                    throw Error(
                        description:
                            "invalid field mask path \"\(path)\": \"\(part)\" is below a field that is no message")
                }
                guard let field = message.fields[String(part)] else {
                    throw Error(description: "invalid field mask path \"\(path)\": no field \"\(part)\"")
                }
                numbers.append(field.number)
                schema = field.message
            }
            numbered.append(numbers)
        }
        root = Self.node(numbered)
    }

    private static func node(_ paths: [[Int]]) -> Node {
        if paths.contains(where: \.isEmpty) { return Node(keepAll: true, children: [:]) }
        var grouped: [Int: [[Int]]] = [:]
        for path in paths { grouped[path[0], default: []].append(Array(path.dropFirst())) }
        return Node(keepAll: false, children: grouped.mapValues { node($0) })
    }

    /// The kept fields of the encoded `flow.Flow` in `bytes`, written to `w` (as the body of the
    /// sub-message `w` is in). Bytes that are no protobuf (never from `FlowProto`) end the copy.
    public func apply(to bytes: ArraySlice<UInt8>, into w: inout ProtoWriter) {
        Self.copy(bytes, root, &w)
    }

    private static func copy(_ bytes: ArraySlice<UInt8>, _ node: Node, _ w: inout ProtoWriter) {
        if node.keepAll {
            w.raw(bytes)
            return
        }
        var r = ProtoReader(bytes)
        while let (field, value) = try? r.next() {
            guard let child = node.children[field] else { continue }
            switch value {
            case .varint(let v):
                w.tag(field, .varint)
                w.varint(v)
            case .fixed64(let v):
                w.tag(field, .fixed64)
                w.fixed(v, bytes: 8)
            case .fixed32(let v):
                w.tag(field, .fixed32)
                w.fixed(UInt64(v), bytes: 4)
            case .bytes(let payload):
                if child.keepAll {
                    w.tag(field, .lengthDelimited)
                    w.varint(UInt64(payload.count))
                    w.raw(payload)
                } else {
                    w.message(field) { copy(payload, child, &$0) }
                }
            }
        }
    }

    // MARK: flow.proto's messages (names and numbers as proto/flow/flow.proto)

    static let timestamp = Schema(["seconds": (1, nil), "nanos": (2, nil)])
    static let boolValue = Schema(["value": (1, nil)])
    static let emitter = Schema(["name": (1, nil), "version": (2, nil)])
    static let ip = Schema(["source": (1, nil), "destination": (2, nil), "ipVersion": (3, nil)])
    static let tcpFlags = Schema([
        "FIN": (1, nil), "SYN": (2, nil), "RST": (3, nil), "PSH": (4, nil), "ACK": (5, nil), "URG": (6, nil),
        "ECE": (7, nil), "CWR": (8, nil), "NS": (9, nil),
    ])
    static let tcp = Schema(["source_port": (1, nil), "destination_port": (2, nil), "flags": (3, tcpFlags)])
    static let ports = Schema(["source_port": (1, nil), "destination_port": (2, nil)])
    static let icmp = Schema(["type": (1, nil), "code": (2, nil)])
    static let layer4 = Schema([
        "TCP": (1, tcp), "UDP": (2, ports), "ICMPv4": (3, icmp), "ICMPv6": (4, icmp), "SCTP": (5, ports),
    ])
    static let endpoint = Schema([
        "ID": (1, nil), "identity": (2, nil), "namespace": (3, nil), "labels": (4, nil), "pod_name": (5, nil),
    ])
    static let dns = Schema([
        "query": (1, nil), "ips": (2, nil), "ttl": (3, nil), "cnames": (4, nil), "observation_source": (5, nil),
        "rcode": (6, nil), "qtypes": (7, nil), "rrtypes": (8, nil),
    ])
    static let httpHeader = Schema(["key": (1, nil), "value": (2, nil)])
    static let http = Schema([
        "code": (1, nil), "method": (2, nil), "url": (3, nil), "protocol": (4, nil), "headers": (5, httpHeader),
    ])
    static let layer7 = Schema(["type": (1, nil), "latency_ns": (2, nil), "dns": (100, dns), "http": (101, http)])
    static let eventType = Schema(["type": (1, nil), "sub_type": (2, nil)])
    static let policy = Schema([
        "name": (1, nil), "namespace": (2, nil), "labels": (3, nil), "revision": (4, nil), "kind": (5, nil),
    ])
    static let flow = Schema([
        "time": (1, timestamp), "uuid": (34, nil), "emitter": (41, emitter), "verdict": (2, nil),
        "drop_reason": (3, nil), "IP": (5, ip), "l4": (6, layer4), "source": (8, endpoint),
        "destination": (9, endpoint), "Type": (10, nil), "node_name": (11, nil), "source_names": (13, nil),
        "destination_names": (14, nil), "l7": (15, layer7), "event_type": (19, eventType),
        "traffic_direction": (22, nil), "policy_match_type": (23, nil), "trace_observation_point": (24, nil),
        "drop_reason_desc": (25, nil), "is_reply": (26, boolValue), "trace_reason": (36, nil),
        "Summary": (100_000, nil), "egress_allowed_by": (21001, policy), "ingress_allowed_by": (21002, policy),
        "egress_denied_by": (21004, policy), "ingress_denied_by": (21005, policy),
    ])
}
