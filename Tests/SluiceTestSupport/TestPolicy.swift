import Policy
import PolicyYAML

/// The policy world of the proxy and agent tests: a backend pod (endpoint 3, app=backend) and a client pod
/// (endpoint 7, app=client), and ingress HTTP rules on the backend for the upstream's port.
public enum TestPolicy {
    public static let backendID: UInt32 = 3
    public static let clientID: UInt32 = 7

    public static let endpoints = [
        EndpointDescriptor(
            id: backendID, namespace: "default", podName: "backend", podLabels: ["app": "backend"],
            ipv4: UInt32(bigEndian: 0x0A00_0003)),
        EndpointDescriptor(
            id: clientID, namespace: "default", podName: "client", podLabels: ["app": "client"],
            ipv4: UInt32(bigEndian: 0x0A00_0007)),
    ]

    /// A CNP letting app=client reach app=backend on `port` with the given HTTP rules (YAML list items).
    public static func yaml(port: UInt16, rules: [String] = ["{method: GET, path: \"/allowed.*\"}"]) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: backend-http
          namespace: default
        spec:
          endpointSelector:
            matchLabels:
              app: backend
          ingress:
          - fromEndpoints:
            - matchLabels:
                app: client
            toPorts:
            - ports:
              - port: "\(port)"
                protocol: TCP
              rules:
                http:
        \(rules.map { "          - " + $0 }.joined(separator: "\n"))

        """
    }

    /// Compiles `yaml` for the two endpoints.
    public static func snapshot(_ yaml: String) throws -> PolicySnapshot {
        let repository = PolicyRepository()
        try repository.apply(yamlText: yaml, fileName: "test.yaml")
        var allocator = IdentityAllocator()
        return repository.compile(endpoints: endpoints, allocator: &allocator)
    }
}
