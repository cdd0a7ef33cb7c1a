import SluiceAPI
import SluiceModel

/// A sandbox topology file: the namespaces, pods and (optionally) outside "world" hosts that
/// `sluice sandbox up FILE` builds.
///
/// ```yaml
/// namespaces:
///   - name: backend
///     labels: {name: backend}
/// pods:
///   - name: backend
///     namespace: backend
///     labels: {app: backend}
///     servers: ["httpbin:80", "tcp:6379"]
/// world:
///   - name: api.example.com
///     addresses: [192.0.2.10]
///     servers: ["http-static:80"]
///     ttl: 60
///   - name: kubernetes.default.svc.cluster.local
///     addresses: [10.96.0.1]
///     servers: ["tcp:443"]
///     kubeAPIServer: true      # ipcache identity kube-apiserver (7)
/// ```
///
/// Two nodes (issue 18): `nodes: [{name: n1}, {name: n2}]` and `node: n2` on a pod (the first
/// node by default). Without `nodes:` the sandbox is the single node it always was.
///
/// Decoding checks each value's shape; `Topology.load(path:)` / `parse(yaml:file:)` also check
/// the cross-references (duplicates, undeclared namespaces) and report file, line and field.
public struct Topology: Decodable, Equatable, Sendable {
    /// Declared namespaces, in file order. `default` and `kube-system` exist implicitly.
    public var namespaces: [NamespaceSpec] = []
    /// Pods, in file order (which fixes their endpoint IDs and addresses).
    public var pods: [PodSpec] = []
    /// Hosts outside the cluster, reachable from pods only through the node.
    public var world: [WorldSpec] = []
    /// Declared nodes, in file order; empty means the classic single node.
    public var nodes: [NodeSpec] = []

}

extension Topology {
    private enum CodingKeys: String, CodingKey {
        case namespaces, pods, world, nodes
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        namespaces = try container.decodeIfPresent([NamespaceSpec].self, forKey: .namespaces) ?? []
        pods = try container.decodeIfPresent([PodSpec].self, forKey: .pods) ?? []
        world = try container.decodeIfPresent([WorldSpec].self, forKey: .world) ?? []
        nodes = try container.decodeIfPresent([NodeSpec].self, forKey: .nodes) ?? []
    }
}

/// A node of a multi-node sandbox: its own network namespace and agent.
public struct NodeSpec: Decodable, Equatable, Sendable {
    /// The node name (a DNS label), the pods' `spec.nodeName` and the agent's `--node-name`.
    public var name: String
}

/// A namespace and its labels (`kubernetes.io/metadata.name` is added automatically, as
/// Kubernetes does).
public struct NamespaceSpec: Decodable, Equatable, Sendable {
    /// The namespace name (a DNS label).
    public var name: String
    /// Labels as written in the file.
    public var labels: [String: String] = [:]
}

extension NamespaceSpec {
    private enum CodingKeys: String, CodingKey {
        case name, labels
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
    }
}

/// A pod: one network namespace with a veth to the node, its labels and servers.
public struct PodSpec: Decodable, Equatable, Sendable {
    /// The pod name (a DNS label); also its DNS name `POD.NAMESPACE.svc.cluster.local`.
    public var name: String
    /// The namespace (default `default`).
    public var namespace: String = "default"
    /// Pod labels.
    public var labels: [String: String] = [:]
    /// Servers started inside the pod.
    public var servers: [ServerSpec] = []
    /// The service account (default `default`).
    public var serviceAccount: String = "default"
    /// Named container ports.
    public var namedPorts: [NamedPort] = []
    /// The node the pod runs on (`nil`: the first node).
    public var node: String? = nil

}

extension PodSpec {
    private enum CodingKeys: String, CodingKey {
        case name, namespace, labels, servers, serviceAccount, namedPorts, node
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        namespace = try container.decodeIfPresent(String.self, forKey: .namespace) ?? "default"
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels) ?? [:]
        servers = try container.decodeIfPresent([ServerSpec].self, forKey: .servers) ?? []
        serviceAccount = try container.decodeIfPresent(String.self, forKey: .serviceAccount) ?? "default"
        namedPorts = try container.decodeIfPresent([NamedPort].self, forKey: .namedPorts) ?? []
        node = try container.decodeIfPresent(String.self, forKey: .node)
    }
}

/// A host outside the cluster: a DNS name with addresses (documentation ranges such as
/// `192.0.2.0/24`), owned by the sandbox's single "world" namespace behind the node.
public struct WorldSpec: Decodable, Equatable, Sendable {
    /// Default TTL of the world name's DNS answers, in seconds.
    public static let defaultTTL: UInt32 = 30

    /// The DNS name (`api.example.com`).
    public var name: String
    /// Its IPv4 addresses.
    public var addresses: [IPv4Address]
    /// Servers listening on each of the addresses.
    public var servers: [ServerSpec] = []
    /// TTL of the DNS answers.
    public var ttl: UInt32 = WorldSpec.defaultTTL
    /// True for the Kubernetes API server: the agent's ipcache gives its addresses the reserved
    /// identity kube-apiserver (7), so `toEntities: [kube-apiserver]` selects it.
    public var kubeAPIServer: Bool = false
}

extension WorldSpec {
    private enum CodingKeys: String, CodingKey {
        case name, addresses, servers, ttl, kubeAPIServer
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        let texts = try container.decode([String].self, forKey: .addresses)
        var addresses: [IPv4Address] = []
        for (index, text) in texts.enumerated() {
            guard let address = IPv4Address(text) else {
                let path = container.codingPath + [CodingKeys.addresses, IndexKey(index)]
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: path,
                        debugDescription: "\"\(text)\" is not an IPv4 address"))
            }
            addresses.append(address)
        }
        self.addresses = addresses
        servers = try container.decodeIfPresent([ServerSpec].self, forKey: .servers) ?? []
        ttl = try container.decodeIfPresent(UInt32.self, forKey: .ttl) ?? WorldSpec.defaultTTL
        kubeAPIServer = try container.decodeIfPresent(Bool.self, forKey: .kubeAPIServer) ?? false
    }
}

/// A sequence index as a coding-path element (for errors that point into a list).
struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String

    init(_ index: Int) {
        intValue = index
        stringValue = "\(index)"
    }

    init?(stringValue: String) {
        return nil
    }

    init?(intValue: Int) {
        self.init(intValue)
    }
}
