import Flows

/// The service map: endpoints as nodes, grouped by namespace, and one edge per (source,
/// destination) pair with what crossed it: verdict counts, protocols, ports, HTTP methods, paths
/// and status counts, DNS names. Pure aggregation of flows (no clock, no I/O); owned by one
/// thread (the observer's loop), not `Sendable`.
///
/// A flow counts on the edge from the side that opened the exchange: requests and packets not
/// known to be replies go source -> destination; replies and responses (`is_reply`, L7 responses)
/// go to the reversed edge and add only their status codes and DNS answers.
public struct ServiceMap {
    /// A node: a pod (`namespace/pod`), or an endpoint outside the node's pods named by its
    /// reserved identity (`reserved:world`, `reserved:host`) or address.
    public struct Node: Codable, Sendable, Equatable {
        public var id: String
        public var namespace: String
        public var name: String
        public var identity: UInt32
        public var labels: [String]
        /// DNS names the proxy learned for the peer (world nodes).
        public var dnsNames: [String]
    }

    /// How an edge is drawn: the most serious thing seen on it.
    public enum EdgeVerdict: String, Codable, Sendable {
        case forwarded
        /// L7 requests denied by policy (403, REFUSED) while the connection was allowed.
        case l7Denied = "l7-denied"
        case dropped
    }

    /// An edge and its details.
    public struct Edge: Codable, Sendable, Equatable {
        public var source: String
        public var destination: String
        public var verdict: EdgeVerdict
        public var forwarded: UInt64 = 0
        public var dropped: UInt64 = 0
        public var l7Denied: UInt64 = 0
        /// `TCP`, `UDP`, `ICMPv4`, `HTTP/1.1`, `HTTP/2`, `DNS`, `TLS`, sorted.
        public var protocols: [String] = []
        /// Destination ports, ascending.
        public var ports: [UInt16] = []
        /// `GET /path` -> request count.
        public var requests: [String: UInt64] = [:]
        /// `GET /path 200` -> response count.
        public var responses: [String: UInt64] = [:]
        /// DNS names asked over this edge, sorted.
        public var dnsNames: [String] = []
        /// Drop reasons seen (`POLICY_DENIED`), sorted.
        public var dropReasons: [String] = []
        /// Time of the last flow, seconds since the epoch.
        public var lastSeen: Int64 = 0
    }

    /// What the page and `/api/servicemap` get.
    public struct Snapshot: Codable, Sendable, Equatable {
        public var namespaces: [String]
        public var nodes: [Node]
        public var edges: [Edge]
        public var flows: UInt64
    }

    /// Keeps at most this many distinct request keys per edge (paths are pod input).
    public static let maxRequestKeys = 64

    private var nodes: [String: Node] = [:]
    private var edges: [EdgeKey: Edge] = [:]
    private var flowCount: UInt64 = 0

    private struct EdgeKey: Hashable {
        var source: String
        var destination: String
    }

    public init() {}

    /// Adds one flow.
    public mutating func add(_ flow: Flow) {
        guard let src = flow.source, let dst = flow.destination else { return }
        flowCount &+= 1
        let srcNode = Self.node(src, names: flow.sourceNames, ip: flow.ip?.source)
        let dstNode = Self.node(dst, names: flow.destinationNames, ip: flow.ip?.destination)
        remember(srcNode)
        remember(dstNode)
        let isResponse = flow.l7?.type == .response || (flow.l7 == nil && flow.isReply == true)
        let key =
            isResponse
            ? EdgeKey(source: dstNode.id, destination: srcNode.id)
            : EdgeKey(source: srcNode.id, destination: dstNode.id)
        // Updated in place in the dictionary: a copy out and back would copy its tables per flow.
        Self.update(
            &edges[key, default: Edge(source: key.source, destination: key.destination, verdict: .forwarded)], flow,
            isResponse: isResponse)
    }

    private static func update(_ edge: inout Edge, _ flow: Flow, isResponse: Bool) {
        edge.lastSeen = max(edge.lastSeen, flow.time.seconds)
        if isResponse {
            addResponse(flow, to: &edge)
        } else {
            addRequest(flow, to: &edge)
        }
        edge.verdict = edge.dropped > 0 ? .dropped : edge.l7Denied > 0 ? .l7Denied : .forwarded
    }

    private mutating func remember(_ node: Node) {
        guard var known = nodes[node.id] else {
            var node = node
            node.dnsNames.sort()
            nodes[node.id] = node
            return
        }
        if node.dnsNames.allSatisfy(known.dnsNames.contains) { return }
        for name in node.dnsNames where !known.dnsNames.contains(name) { known.dnsNames.append(name) }
        known.dnsNames.sort()
        nodes[node.id] = known
    }

    private static func addRequest(_ flow: Flow, to edge: inout Edge) {
        switch flow.verdict {
        case .dropped where flow.l7 != nil: edge.l7Denied &+= 1
        case .dropped:
            edge.dropped &+= 1
            Self.insert(flow.dropReasonDesc.name ?? String(flow.dropReason), into: &edge.dropReasons)
        default: edge.forwarded &+= 1
        }
        if let proto = Self.protocolName(flow) { Self.insert(proto, into: &edge.protocols) }
        if let port = flow.l4?.destinationPort, !edge.ports.contains(port) {
            edge.ports.append(port)
            edge.ports.sort()
        }
        switch flow.l7?.record {
        case .http(let http)?:
            let key = http.method.isEmpty ? http.url : http.method + " " + http.path
            if edge.requests[key] != nil || edge.requests.count < Self.maxRequestKeys {
                edge.requests[key, default: 0] &+= 1
            }
        case .dns(let dns)?:
            Self.insert(dns.query, into: &edge.dnsNames)
        case nil: break
        }
    }

    private static func addResponse(_ flow: Flow, to edge: inout Edge) {
        switch flow.l7?.record {
        case .http(let http)?:
            let key = http.method + " " + http.path + " " + String(http.code)
            if edge.responses[key] != nil || edge.responses.count < Self.maxRequestKeys {
                edge.responses[key, default: 0] &+= 1
            }
        case .dns(let dns)?:
            Self.insert(dns.query, into: &edge.dnsNames)
        case nil: break
        }
    }

    private static func insert(_ s: String, into list: inout [String]) {
        guard !s.isEmpty, !list.contains(s), list.count < maxRequestKeys else { return }
        list.append(s)
        list.sort()
    }

    /// The node a flow endpoint stands for.
    static func node(_ ep: FlowEndpoint, names: [String], ip: String?) -> Node {
        if !ep.podName.isEmpty {
            return Node(
                id: ep.namespace + "/" + ep.podName, namespace: ep.namespace, name: ep.podName, identity: ep.identity,
                labels: ep.labels, dnsNames: [])
        }
        if let reserved = ep.labels.first(where: { $0.hasPrefix("reserved:") }) {
            let name = String(reserved.dropFirst("reserved:".count))
            return Node(
                id: reserved, namespace: "", name: name, identity: ep.identity, labels: ep.labels, dnsNames: names)
        }
        let address = ip ?? "unknown"
        return Node(
            id: address, namespace: "", name: address, identity: ep.identity, labels: ep.labels, dnsNames: names)
    }

    /// The L7 protocol if the proxy saw one, the L4 protocol otherwise.
    static func protocolName(_ flow: Flow) -> String? {
        switch flow.l7?.record {
        case .http(let http)?: return http.protocol
        case .dns?: return "DNS"
        case nil: return flow.l4?.protocolName
        }
    }

    /// Nodes and edges, sorted, restricted to edges touching `namespace` when given (and the nodes
    /// they join); `namespaces` always lists every namespace seen, for the filter.
    public func snapshot(namespace: String? = nil) -> Snapshot {
        let allNamespaces = Set(nodes.values.map(\.namespace).filter { !$0.isEmpty }).sorted()
        var chosenEdges = Array(edges.values)
        if let namespace, !namespace.isEmpty {
            chosenEdges = chosenEdges.filter {
                nodes[$0.source]?.namespace == namespace || nodes[$0.destination]?.namespace == namespace
            }
        }
        chosenEdges.sort { ($0.source, $0.destination) < ($1.source, $1.destination) }
        var ids = Set(chosenEdges.flatMap { [$0.source, $0.destination] })
        if let namespace, !namespace.isEmpty {
            for node in nodes.values where node.namespace == namespace { ids.insert(node.id) }
        } else {
            ids = Set(nodes.keys)
        }
        let chosenNodes = ids.compactMap { nodes[$0] }.sorted { ($0.namespace, $0.id) < ($1.namespace, $1.id) }
        return Snapshot(namespaces: allNamespaces, nodes: chosenNodes, edges: chosenEdges, flows: flowCount)
    }
}
