import SluiceAPI
import SluiceModel

/// What `up` will build, computed from a topology without touching the system: namespaces with
/// their labels, endpoints with IDs, addresses and interface names, the DNS pod, world hosts.
///
/// Addresses are deterministic by file order: `kube-system/kube-dns` gets `10.244.1.10`, the
/// topology's pods follow (`10.244.1.11`, ...), the last octet runs 10...254 and then the third
/// octet goes up.
struct SandboxPlan: Equatable {
    /// An endpoint and the servers to start in it.
    struct PlannedEndpoint: Equatable {
        var endpoint: SandboxState.Endpoint
        var servers: [ServerSpec]
    }

    /// The pod network, `10.244.0.0/16`.
    static let podNetwork = IPv4Address(10, 244, 0, 0)
    static let podNetworkPrefixLength = 16
    /// The node's address (on `sluice_host` in the node namespace).
    static let nodeAddress = IPv4Address(10, 244, 0, 1)
    /// Pod addresses use last octets 10...254 of `10.244.N.0`, N = 1...255.
    static let firstHostOctet: UInt32 = 10
    static let lastHostOctet: UInt32 = 254
    static let firstSubnet: UInt32 = 1
    static let lastSubnet: UInt32 = 255
    /// The DNS pod the sandbox always adds.
    static let dnsNamespace = "kube-system"
    static let dnsPod = "kube-dns"
    static let dnsPodName = "kube-system/kube-dns"
    static let dnsPodLabels = ["k8s-app": "kube-dns"]
    static let dnsNamedPorts = [
        NamedPort(name: "dns", port: 53, protocol: "UDP"),
        NamedPort(name: "dns-tcp", port: 53, protocol: "TCP"),
    ]
    /// Kubernetes adds this label to every namespace.
    static let namespaceNameLabel = "kubernetes.io/metadata.name"

    /// A node of a multi-node plan.
    struct PlannedNode: Equatable {
        var name: String
        var netns: String
        /// `10.244.0.(k+1)` for the k-th node (0-based).
        var address: IPv4Address
        /// `10.244.(k+1).0/24`.
        var podSubnet: UInt32
        var podCIDR: String { "\(IPv4Address(hostOrder: SandboxPlan.podNetwork.hostOrder | podSubnet << 8))/24" }
    }

    /// Pods a node of a multi-node sandbox holds: last octets 10...254 of its /24.
    static let podsPerNode = Int(lastHostOctet - firstHostOctet + 1)
    /// The fake API server's address inside the sandbox (`kubernetes.default.svc`), a world
    /// address behind the first node, and its port.
    static let kubeAPIAddress = IPv4Address(10, 96, 0, 1)
    static let kubeAPIPort: UInt16 = 443
    static let kubeAPIName = "kubernetes.default.svc.cluster.local"

    var namespaces: [SandboxState.Namespace]
    var endpoints: [PlannedEndpoint]
    var world: [WorldSpec]
    /// Empty for the single node.
    var nodes: [PlannedNode] = []

    /// The DNS pod's address.
    var dnsAddress: IPv4Address {
        IPv4Address(endpoints.first?.endpoint.ipv4 ?? "") ?? Self.podAddress(index: 0) ?? Self.nodeAddress
    }

    /// The address of the `index`-th endpoint (0-based), or `nil` past the end of the range.
    static func podAddress(index: Int) -> IPv4Address? {
        let perSubnet = Int(lastHostOctet - firstHostOctet + 1)
        guard index >= 0 else { return nil }
        let subnet = firstSubnet + UInt32(index / perSubnet)
        guard subnet <= lastSubnet else { return nil }
        let host = firstHostOctet + UInt32(index % perSubnet)
        return IPv4Address(hostOrder: podNetwork.hostOrder | subnet << 8 | host)
    }

    /// Builds the plan; the topology should already be validated (`Topology.parse`).
    /// - Throws: `SandboxError` when the pods do not fit in the address range.
    init(topology: Topology) throws(SandboxError) {
        var namespaces: [SandboxState.Namespace] = topology.namespaces.map { spec in
            var labels = spec.labels
            labels[Self.namespaceNameLabel] = spec.name
            return SandboxState.Namespace(name: spec.name, labels: labels)
        }
        for implicit in Topology.implicitNamespaces where !namespaces.contains(where: { $0.name == implicit }) {
            namespaces.append(SandboxState.Namespace(name: implicit, labels: [Self.namespaceNameLabel: implicit]))
        }
        let dnsPodSpec = PodSpec(
            name: Self.dnsPod, namespace: Self.dnsNamespace, labels: Self.dnsPodLabels,
            serviceAccount: "coredns", namedPorts: Self.dnsNamedPorts)
        let pods = [dnsPodSpec] + topology.pods
        let plainNames = pods.map { SandboxNames.netnsName(namespace: $0.namespace, pod: $0.name) }
        var nameCounts: [String: Int] = [:]
        for name in plainNames { nameCounts[name, default: 0] += 1 }
        var usedInterfaces = Set([SandboxNames.nodeInterface, SandboxNames.worldHostInterface])
        let plannedNodes = topology.nodes.enumerated().map { index, spec in
            PlannedNode(
                name: spec.name, netns: SandboxNames.nodeNetns(name: spec.name, first: index == 0),
                address: IPv4Address(hostOrder: Self.nodeAddress.hostOrder + UInt32(index)),
                podSubnet: Self.firstSubnet + UInt32(index))
        }
        let podNodes = pods.map { $0.node ?? plannedNodes.first?.name }
        var perNode: [String: Int] = [:]
        var endpoints: [PlannedEndpoint] = []
        for (index, pod) in pods.enumerated() {
            let address: IPv4Address
            if let nodeName = podNodes[index], let node = plannedNodes.first(where: { $0.name == nodeName }) {
                let slot = perNode[nodeName, default: 0]
                perNode[nodeName] = slot + 1
                guard slot < Self.podsPerNode else { throw SandboxError.addressSpaceExhausted(pods: pods.count) }
                address = IPv4Address(
                    hostOrder: Self.podNetwork.hostOrder | node.podSubnet << 8 | (Self.firstHostOctet + UInt32(slot)))
            } else {
                guard let single = Self.podAddress(index: index) else {
                    throw SandboxError.addressSpaceExhausted(pods: pods.count)
                }
                address = single
            }
            let netns =
                (nameCounts[plainNames[index]] ?? 0) > 1
                ? SandboxNames.netnsName(namespace: pod.namespace, pod: pod.name, forceHash: true)
                : plainNames[index]
            var salt = 0
            var hostIf = SandboxNames.hostInterfaceName(namespace: pod.namespace, pod: pod.name)
            while !usedInterfaces.insert(hostIf).inserted {
                salt += 1
                hostIf = SandboxNames.hostInterfaceName(namespace: pod.namespace, pod: pod.name, salt: salt)
            }
            let namespaceLabels =
                namespaces.first { $0.name == pod.namespace }?.labels
                ?? [Self.namespaceNameLabel: pod.namespace]
            let endpoint = SandboxState.Endpoint(
                id: index + 1, namespace: pod.namespace, pod: pod.name, podLabels: pod.labels,
                namespaceLabels: namespaceLabels, ipv4: address.description, netns: netns, hostIfName: hostIf,
                hostIfIndex: 0, serviceAccount: pod.serviceAccount, namedPorts: pod.namedPorts,
                node: podNodes[index])
            endpoints.append(PlannedEndpoint(endpoint: endpoint, servers: pod.servers))
        }
        self.namespaces = namespaces
        self.endpoints = endpoints
        self.world = topology.world
        self.nodes = plannedNodes
        if !plannedNodes.isEmpty {
            self.world.append(
                WorldSpec(name: Self.kubeAPIName, addresses: [Self.kubeAPIAddress], kubeAPIServer: true))
        }
    }

    /// The node a pod runs on (`nil` for the single node).
    func node(of endpoint: SandboxState.Endpoint) -> PlannedNode? {
        nodes.first { $0.name == endpoint.node }
    }

    /// The state `up` starts from (no ifindexes or PIDs yet); `stateDirectory` holds the
    /// nodes' endpoint files.
    func initialState(stateDirectory: String = "/run/sluice/sandbox") -> SandboxState {
        var state = SandboxState(
            nodeNetns: SandboxNames.nodeNetns, nodeIP: Self.nodeAddress.description,
            dnsIP: dnsAddress.description, namespaces: namespaces, endpoints: endpoints.map(\.endpoint),
            worldNetns: world.isEmpty ? nil : SandboxNames.worldNetns,
            world: world.map {
                .init(
                    name: $0.name, addresses: $0.addresses.map(\.description), ttl: $0.ttl,
                    kubeAPIServer: $0.kubeAPIServer ? true : nil)
            },
            servers: [], agentPID: nil)
        guard let first = nodes.first else { return state }
        state.nodeNetns = first.netns
        state.nodes = nodes.enumerated().map { index, node in
            let paths = SandboxNodePaths(name: node.name, first: index == 0)
            return SandboxState.Node(
                name: node.name, netns: node.netns, ip: node.address.description, podCIDR: node.podCIDR,
                endpointsFile: stateDirectory + "/nodes/" + node.name + ".json", pinDirectory: paths.pinDirectory,
                controlSocket: paths.controlSocket, stateDirectory: paths.stateDirectory)
        }
        return state
    }
}
