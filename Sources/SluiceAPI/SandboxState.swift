/// What a running sandbox is made of; written to `<state directory>/state.json` by `up` and read
/// by `down`, `exec` and the agent (`--endpoints`: endpoints, their labels, world hosts, the
/// node's address). The one schema of that file: the CLI writes it with Foundation's encoder, the
/// agent reads it with SluiceJSON (SandboxState+Decoding.swift).
public struct SandboxState: Codable, Equatable, Sendable {
    /// A pod as the datapath and policy see it.
    public struct Endpoint: Codable, Equatable, Sendable {
        /// Endpoint ID: 1, 2, ... in file order; `kube-system/kube-dns` is first.
        public var id: Int
        public var namespace: String
        public var pod: String
        public var podLabels: [String: String]
        /// The namespace's labels, `kubernetes.io/metadata.name` included.
        public var namespaceLabels: [String: String]
        /// Dotted IPv4 address (`10.244.1.11`).
        public var ipv4: String
        /// The pod's network namespace (`sluice-backend-backend`).
        public var netns: String
        /// The host-side veth inside the node namespace (`lxc1a2b3c4d`).
        public var hostIfName: String
        /// Its ifindex inside the node namespace (0 until the veth exists).
        public var hostIfIndex: Int
        public var serviceAccount: String
        public var namedPorts: [NamedPort]
        /// The node it runs on in a multi-node sandbox (`nil`: the single node).
        public var node: String?

        public init(
            id: Int, namespace: String, pod: String, podLabels: [String: String],
            namespaceLabels: [String: String] = [:], ipv4: String, netns: String = "", hostIfName: String = "",
            hostIfIndex: Int = 0, serviceAccount: String = "default", namedPorts: [NamedPort] = [],
            node: String? = nil
        ) {
            self.id = id
            self.namespace = namespace
            self.pod = pod
            self.podLabels = podLabels
            self.namespaceLabels = namespaceLabels
            self.ipv4 = ipv4
            self.netns = netns
            self.hostIfName = hostIfName
            self.hostIfIndex = hostIfIndex
            self.serviceAccount = serviceAccount
            self.namedPorts = namedPorts
            self.node = node
        }

        enum CodingKeys: String, CodingKey {
            case id, namespace, pod, podLabels, namespaceLabels, ipv4, netns, hostIfName, hostIfIndex, serviceAccount,
                namedPorts, node
        }
    }

    /// A namespace and its labels.
    public struct Namespace: Codable, Equatable, Sendable {
        public var name: String
        public var labels: [String: String]

        public init(name: String, labels: [String: String]) {
            self.name = name
            self.labels = labels
        }
    }

    /// A world host: DNS name, addresses (owned by `worldNetns`) and TTL.
    public struct WorldHost: Codable, Equatable, Sendable {
        public var name: String
        public var addresses: [String]
        public var ttl: UInt32
        /// Set for the Kubernetes API server (the agent gives it identity kube-apiserver).
        public var kubeAPIServer: Bool?

        public init(name: String, addresses: [String], ttl: UInt32, kubeAPIServer: Bool? = nil) {
            self.name = name
            self.addresses = addresses
            self.ttl = ttl
            self.kubeAPIServer = kubeAPIServer
        }
    }

    /// A background process the sandbox started and `down` stops.
    public struct ServerProcess: Codable, Equatable, Sendable {
        /// `namespace/pod`, `world/NAME` or `kube-system/kube-dns`.
        public var owner: String
        /// The server kind (`httpbin`, `http-static`, `tcp`, `dns`).
        public var kind: String
        public var port: Int
        public var pid: Int32
        public var logPath: String
        /// A string `/proc/PID/cmdline` must contain before `down` signals the PID, so a reused
        /// PID is never killed.
        public var marker: String

        public init(owner: String, kind: String, port: Int, pid: Int32, logPath: String, marker: String) {
            self.owner = owner
            self.kind = kind
            self.port = port
            self.pid = pid
            self.logPath = logPath
            self.marker = marker
        }
    }

    /// A node of a multi-node sandbox (issue 18): its namespace, addresses, agent files and PID.
    public struct Node: Codable, Equatable, Sendable {
        /// The node name (`n1`), the agent's `--node-name` and the pods' `spec.nodeName`.
        public var name: String
        /// Its network namespace (`sluice-node` for the first node, `sluice-node_NAME` else).
        public var netns: String
        /// Its address on its `sluice_host` bridge (`10.244.0.1`, `10.244.0.2`, ...).
        public var ip: String
        /// Its pods' network (`10.244.1.0/24`, `10.244.2.0/24`, ...).
        public var podCIDR: String
        /// What its agent reads as `--endpoints`: this state with only its own pods.
        public var endpointsFile: String
        /// The agent's pins, control socket and state directory (`SandboxNodePaths`).
        public var pinDirectory: String
        public var controlSocket: String
        public var stateDirectory: String
        /// The agent's PID once started.
        public var agentPID: Int32?

        public init(
            name: String, netns: String, ip: String, podCIDR: String, endpointsFile: String, pinDirectory: String,
            controlSocket: String, stateDirectory: String, agentPID: Int32? = nil
        ) {
            self.name = name
            self.netns = netns
            self.ip = ip
            self.podCIDR = podCIDR
            self.endpointsFile = endpointsFile
            self.pinDirectory = pinDirectory
            self.controlSocket = controlSocket
            self.stateDirectory = stateDirectory
            self.agentPID = agentPID
        }
    }

    /// The fake Kubernetes API server of a multi-node sandbox.
    public struct KubeAPI: Codable, Equatable, Sendable {
        /// The kubeconfig for clients on this machine (`/run/sluice/sandbox/kubeconfig`).
        public var kubeconfig: String
        /// The kubeconfig the agents use (the server's sandbox address, reachable from nodes).
        public var nodeKubeconfig: String
        /// The server's plain-HTTP control URL (`/expire`, `/stop`, `/start`, `/state`).
        public var control: String
        /// The server's and the forwarder's PIDs.
        public var pid: Int32
        public var forwarderPID: Int32?
        /// `python sandbox_kube.py` and the server's directory (CA, token, `server.json`): how
        /// `sluice apply` and `sluice delete` send objects to it.
        public var client: [String]
        public var directory: String

        public init(
            kubeconfig: String, nodeKubeconfig: String, control: String, pid: Int32, forwarderPID: Int32?,
            client: [String] = [], directory: String = ""
        ) {
            self.kubeconfig = kubeconfig
            self.nodeKubeconfig = nodeKubeconfig
            self.control = control
            self.pid = pid
            self.forwarderPID = forwarderPID
            self.client = client
            self.directory = directory
        }
    }

    /// `sluice-node` (the first node's in a multi-node sandbox).
    public var nodeNetns: String
    /// The node's own address (`10.244.0.1`).
    public var nodeIP: String
    /// The kube-dns pod's address, the pods' only name server.
    public var dnsIP: String
    public var namespaces: [Namespace]
    public var endpoints: [Endpoint]
    /// `sluice-world` when the topology has world hosts, else `nil`.
    public var worldNetns: String?
    public var world: [WorldHost]
    public var servers: [ServerProcess]
    /// The agent's PID; filled by whoever starts the agent. `down` stops it like a server
    /// (only if its command line contains `sluice`).
    public var agentPID: Int32?
    /// The nodes of a multi-node sandbox, first node first; `nil` for the single node. The
    /// first node's agent PID is also `agentPID`.
    public var nodes: [Node]?
    /// The fake API server of a multi-node sandbox.
    public var kubeAPI: KubeAPI?

    public init(
        nodeNetns: String, nodeIP: String, dnsIP: String, namespaces: [Namespace], endpoints: [Endpoint],
        worldNetns: String?, world: [WorldHost], servers: [ServerProcess], agentPID: Int32?
    ) {
        self.nodeNetns = nodeNetns
        self.nodeIP = nodeIP
        self.dnsIP = dnsIP
        self.namespaces = namespaces
        self.endpoints = endpoints
        self.worldNetns = worldNetns
        self.world = world
        self.servers = servers
        self.agentPID = agentPID
    }

    enum CodingKeys: String, CodingKey {
        case nodeNetns, nodeIP, dnsIP, namespaces, endpoints, worldNetns, world, servers, agentPID, nodes, kubeAPI
    }

    /// The node named `name` of a multi-node sandbox.
    public func node(named name: String) -> Node? {
        nodes?.first { $0.name == name }
    }

    /// What node `node`'s agent reads as `--endpoints`: this state with only that node's pods,
    /// its namespace and address as the node's, the other nodes and PIDs left out.
    public func endpointsView(of node: Node) -> SandboxState {
        var view = self
        view.nodeNetns = node.netns
        view.nodeIP = node.ip
        view.endpoints = endpoints.filter { $0.node == node.name }
        view.servers = []
        view.agentPID = nil
        view.nodes = nil
        view.kubeAPI = nil
        return view
    }

    /// The endpoint for `namespace/pod` (a bare `pod` means namespace `default`).
    public func endpoint(target: String) -> Endpoint? {
        let parts = target.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let namespace = parts.count == 2 ? String(parts[0]) : "default"
        let pod = String(parts[parts.count - 1])
        return endpoints.first { $0.namespace == namespace && $0.pod == pod }
    }
}
