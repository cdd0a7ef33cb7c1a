import SluiceModel

/// A local endpoint (pod) as the agent knows it: what identity and named ports are computed from.
/// Codable as the agent's Kubernetes state cache stores it (`pod` for `podName`).
public struct EndpointDescriptor: Sendable, Hashable, Codable {
    /// Cilium-style endpoint ID (unique on the node).
    public var id: UInt32
    /// Kubernetes namespace of the pod.
    public var namespace: String
    /// Pod name.
    public var podName: String
    /// Pod labels (without source prefix).
    public var podLabels: [String: String]
    /// Labels of the pod's namespace.
    public var namespaceLabels: [String: String]
    /// IPv4 address in network byte order.
    public var ipv4: UInt32
    /// Service account; Kubernetes' default is `default`.
    public var serviceAccount: String
    /// Container port names (IANA service names, lower-cased on use) to port numbers.
    public var namedPorts: [String: UInt16]

    private enum CodingKeys: String, CodingKey {
        case id, namespace, podName = "pod", podLabels, namespaceLabels, ipv4, serviceAccount, namedPorts
    }

    /// Creates a descriptor.
    public init(
        id: UInt32, namespace: String, podName: String, podLabels: [String: String] = [:],
        namespaceLabels: [String: String] = [:], ipv4: UInt32, serviceAccount: String = "default",
        namedPorts: [String: UInt16] = [:]
    ) {
        self.id = id
        self.namespace = namespace
        self.podName = podName
        self.podLabels = podLabels
        self.namespaceLabels = namespaceLabels
        self.ipv4 = ipv4
        self.serviceAccount = serviceAccount
        self.namedPorts = namedPorts
    }

    /// The identity labels Cilium derives for the pod, sorted: pod labels as `k8s:KEY=VALUE`,
    /// the namespace, each namespace label, the service account and the cluster.
    public var identityLabels: [Label] {
        var labels = podLabels.map { Label.k8s($0.key, $0.value) }
        labels.append(.k8s(Label.namespaceKey, namespace))
        labels += namespaceLabels.map { Label.k8s(Label.namespaceLabelsPrefix + $0.key, $0.value) }
        labels.append(.k8s(Label.serviceAccountKey, serviceAccount.isEmpty ? "default" : serviceAccount))
        labels.append(.k8s(Label.clusterKey, Label.clusterName))
        return labels.sorted()
    }

    /// The port number of a named container port (case-insensitive), if the pod has one.
    func namedPort(_ name: String) -> UInt16? {
        let wanted = name.lowercased()
        return namedPorts.first { $0.key.lowercased() == wanted }?.value
    }
}
