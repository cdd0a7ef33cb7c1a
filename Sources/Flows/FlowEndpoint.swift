/// Hubble's `Endpoint` (flow.proto): who sent or received a flow.
///
/// Local endpoints carry their endpoint `id`; remote peers have `id` 0 and only an identity and its labels
/// (`reserved:world` for the world identity).
public struct FlowEndpoint: Sendable, Equatable {
    /// `ID`: the local endpoint ID, 0 when the peer is not a local endpoint.
    public var id: UInt32
    /// `identity`: numeric security identity.
    public var identity: UInt32
    /// `namespace`: Kubernetes namespace, empty for non-pods.
    public var namespace: String
    /// `labels`, sorted (`k8s:app=client`, `reserved:world`).
    public var labels: [String]
    /// `pod_name`.
    public var podName: String

    /// Creates an endpoint; `labels` are sorted, as Hubble prints them.
    public init(
        id: UInt32 = 0, identity: UInt32 = 0, namespace: String = "", labels: [String] = [],
        podName: String = ""
    ) {
        self.id = id
        self.identity = identity
        self.namespace = namespace
        self.labels = labels.sorted()
        self.podName = podName
    }
}
