import CSluiceShared
import SluiceJSON
import SluiceModel

/// What the reader of the flow map needs to name endpoints: the node name, every local endpoint (by ID and by
/// IPv4 address) and the labels of every identity.
///
/// Loaded from the agent's state file `/run/sluice/state/endpoints.json` (`EndpointDirectory.File`). Immutable
/// once built; safe to share across threads.
public struct EndpointDirectory: Sendable {
    /// The JSON document the agent writes. Keys are the property names.
    public struct File: Codable, Sendable, Equatable {
        /// The node's name (`node_name` of every flow).
        public var nodeName: String
        /// Local endpoints.
        public var endpoints: [Endpoint]
        /// Identity → labels, for remote peers (local endpoints carry their own labels).
        public var identities: [Identity]
        /// The policy objects in force, by the number L7 flow records name them with (absent in
        /// files of older agents).
        public var policies: [Policy]?

        /// Creates a document.
        public init(nodeName: String, endpoints: [Endpoint], identities: [Identity], policies: [Policy]? = nil) {
            self.nodeName = nodeName
            self.endpoints = endpoints
            self.identities = identities
            self.policies = policies
        }
    }

    /// A policy object in `File`: `ref` is `PolicyKey.ref` (the record's `policy_id`).
    public struct Policy: Codable, Sendable, Equatable {
        public var ref: UInt32
        /// `CiliumNetworkPolicy`, `CiliumClusterwideNetworkPolicy` or `NetworkPolicy`.
        public var kind: String
        /// Empty for cluster-wide policies.
        public var namespace: String
        public var name: String

        /// Creates an entry.
        public init(ref: UInt32, kind: String, namespace: String, name: String) {
            self.ref = ref
            self.kind = kind
            self.namespace = namespace
            self.name = name
        }
    }

    /// A local endpoint in `File`.
    public struct Endpoint: Codable, Sendable, Equatable {
        /// Endpoint ID (> 0).
        public var id: UInt32
        /// Kubernetes namespace.
        public var namespace: String
        /// Pod name.
        public var pod: String
        /// Pod IPv4 address, dotted quad.
        public var ipv4: String
        /// Numeric security identity.
        public var identity: UInt32
        /// Labels with their source prefix (`k8s:app=client`).
        public var labels: [String]

        /// Creates an entry.
        public init(id: UInt32, namespace: String, pod: String, ipv4: String, identity: UInt32, labels: [String]) {
            self.id = id
            self.namespace = namespace
            self.pod = pod
            self.ipv4 = ipv4
            self.identity = identity
            self.labels = labels
        }
    }

    /// An identity and its labels in `File`.
    public struct Identity: Codable, Sendable, Equatable {
        /// Numeric identity.
        public var identity: UInt32
        /// Its labels.
        public var labels: [String]

        /// Creates an entry.
        public init(identity: UInt32, labels: [String]) {
            self.identity = identity
            self.labels = labels
        }
    }

    /// The node's name.
    public let nodeName: String
    private let byID: [UInt32: Endpoint]
    private let byIPv4: [UInt32: Endpoint]
    private let identityLabels: [UInt32: [String]]
    private let policies: [UInt32: Policy]
    private var dnsNames: [UInt32: [String]] = [:]

    /// Indexes a document. Later duplicates of an ID, address or identity replace earlier ones; entries whose
    /// `ipv4` does not parse are reachable by ID only.
    public init(file: File) {
        nodeName = file.nodeName
        var byID: [UInt32: Endpoint] = [:]
        var byIPv4: [UInt32: Endpoint] = [:]
        var identityLabels: [UInt32: [String]] = [:]
        for endpoint in file.endpoints {
            byID[endpoint.id] = endpoint
            if let address = IPv4Address(endpoint.ipv4) {
                byIPv4[address.networkOrder] = endpoint
            }
            identityLabels[endpoint.identity] = endpoint.labels
        }
        for identity in file.identities {
            identityLabels[identity.identity] = identity.labels
        }
        var policies: [UInt32: Policy] = [:]
        for policy in file.policies ?? [] {
            policies[policy.ref] = policy
        }
        self.policies = policies
        self.byID = byID
        self.byIPv4 = byIPv4
        self.identityLabels = identityLabels
    }

    /// An empty directory (no endpoints; reserved identities still have their labels).
    public init(nodeName: String = "") {
        self.init(file: File(nodeName: nodeName, endpoints: [], identities: []))
    }

    /// Decodes and indexes the agent's JSON document.
    public init(json: [UInt8]) throws {
        self.init(file: try JSON.decode(File.self, from: json))
    }

    /// The same directory with DNS names for addresses (IPv4 in network order → names without the
    /// trailing dot, sorted), for `source_names` / `destination_names`.
    public func withNames(_ names: [UInt32: [String]]) -> EndpointDirectory {
        var copy = self
        copy.dnsNames = names
        return copy
    }

    /// The names of an address (network byte order), or none.
    public func names(ipv4NetworkOrder: UInt32) -> [String] { dnsNames[ipv4NetworkOrder] ?? [] }

    /// The address → names table of the agent's toFQDNs cache file (`FQDNCacheFile`): every IPv4
    /// address it holds, expired ones included (connections to them may still be open), with its
    /// names lower-cased and without the trailing dot, as Hubble shows them. Nil when the
    /// document does not parse.
    public static func namesFromFQDNCache(json: [UInt8]) -> [UInt32: [String]]? {
        guard let file = try? JSON.decode(FQDNCacheFile.self, from: json) else { return nil }
        var out: [UInt32: Set<String>] = [:]
        for (name, addresses) in file.names {
            var n = name.lowercased()
            if n.hasSuffix(".") { n.removeLast() }
            guard !n.isEmpty else { continue }
            for address in addresses.keys {
                guard let ip = IPv4Address(address) else { continue }
                out[ip.networkOrder, default: []].insert(n)
            }
        }
        return out.mapValues { $0.sorted() }
    }

    /// The local endpoint with this ID.
    public func endpoint(id: UInt32) -> Endpoint? { byID[id] }

    /// The policy object a flow record names (`policy_id`), if the agent still has it.
    public func policy(ref: UInt32) -> Policy? { policies[ref] }

    /// The local endpoint with this IPv4 address (network byte order, as in the flow record).
    public func endpoint(ipv4NetworkOrder: UInt32) -> Endpoint? { byIPv4[ipv4NetworkOrder] }

    /// The labels of an identity: from the document, else `reserved:<name>` for reserved
    /// identities, else `reserved:world` for the node-local identities of learned toFQDNs IPs
    /// (`1<<24 | 1<<23` + n, `SLUICE_IDENTITY_FQDN_BASE`: world addresses, as Cilium labels
    /// them besides their `fqdn:` selectors), else none.
    public func labels(identity: UInt32) -> [String] {
        if let labels = identityLabels[identity] { return labels }
        if let name = ReservedIdentity.name(of: identity) { return ["reserved:" + name] }
        if identity >= Self.fqdnIdentityBase && identity < Self.fqdnIdentityBase + (1 << 23) {
            return ["reserved:world"]
        }
        return []
    }

    /// The first FQDN identity (shared with bpf/include/sluice_maps.h SLUICE_IDENTITY_FQDN_BASE).
    static let fqdnIdentityBase: UInt32 = UInt32(SLUICE_IDENTITY_FQDN_BASE)
}
