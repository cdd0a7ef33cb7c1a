/// `SandboxState`'s decoder. The agent also reads hand-written endpoint files (tests, other node
/// set-ups): keys marked "optional in the file" may be absent there and decode to the default
/// shown.
extension SandboxState {
    /// Optional in the file: everything but `endpoints` (`nodeIP` "" means none: locally
    /// generated packets are still the host's).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nodeNetns = try c.decodeIfPresent(String.self, forKey: .nodeNetns) ?? ""
        nodeIP = try c.decodeIfPresent(String.self, forKey: .nodeIP) ?? ""
        dnsIP = try c.decodeIfPresent(String.self, forKey: .dnsIP) ?? ""
        namespaces = try c.decodeIfPresent([Namespace].self, forKey: .namespaces) ?? []
        endpoints = try c.decode([Endpoint].self, forKey: .endpoints)
        worldNetns = try c.decodeIfPresent(String.self, forKey: .worldNetns)
        world = try c.decodeIfPresent([WorldHost].self, forKey: .world) ?? []
        servers = try c.decodeIfPresent([ServerProcess].self, forKey: .servers) ?? []
        agentPID = try c.decodeIfPresent(Int32.self, forKey: .agentPID)
        nodes = try c.decodeIfPresent([Node].self, forKey: .nodes)
        kubeAPI = try c.decodeIfPresent(KubeAPI.self, forKey: .kubeAPI)
    }
}

extension SandboxState.Endpoint {
    /// Optional in the file: `namespaceLabels` ([:]), `netns`, `hostIfName` (""), `hostIfIndex`
    /// (0), `serviceAccount` ("default"), `namedPorts` ([]).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        namespace = try c.decode(String.self, forKey: .namespace)
        pod = try c.decode(String.self, forKey: .pod)
        podLabels = try c.decode([String: String].self, forKey: .podLabels)
        namespaceLabels = try c.decodeIfPresent([String: String].self, forKey: .namespaceLabels) ?? [:]
        ipv4 = try c.decode(String.self, forKey: .ipv4)
        netns = try c.decodeIfPresent(String.self, forKey: .netns) ?? ""
        hostIfName = try c.decodeIfPresent(String.self, forKey: .hostIfName) ?? ""
        hostIfIndex = try c.decodeIfPresent(Int.self, forKey: .hostIfIndex) ?? 0
        serviceAccount = try c.decodeIfPresent(String.self, forKey: .serviceAccount) ?? "default"
        namedPorts = try c.decodeIfPresent([NamedPort].self, forKey: .namedPorts) ?? []
        node = try c.decodeIfPresent(String.self, forKey: .node)
    }
}
