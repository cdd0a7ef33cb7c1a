import Foundation
import Policy
import PolicyYAML

/// Endpoints and example policies shared by the policy truth tables (PolicyTests) and the test
/// that holds their datapath model to the BPF program (DatapathTests): pods at 10.0.0.<id>.
public enum PolicyFixtures {
    /// proxy-config/examples in the repository.
    public static let examples: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("proxy-config/examples")

    public static func example(_ relative: String) throws -> String {
        try String(contentsOf: examples.appendingPathComponent(relative), encoding: .utf8)
    }

    /// 10.0.0.x in network byte order.
    public static func ip(_ last: UInt8) -> UInt32 {
        UInt32(bigEndian: 0x0A00_0000 | UInt32(last))
    }

    public static func endpoint(
        _ id: UInt32, _ namespace: String, _ pod: String, _ labels: [String: String],
        namespaceLabels: [String: String] = [:], namedPorts: [String: UInt16] = [:]
    ) -> EndpointDescriptor {
        EndpointDescriptor(
            id: id, namespace: namespace, podName: pod, podLabels: labels,
            namespaceLabels: ["kubernetes.io/metadata.name": namespace].merging(namespaceLabels) { $1 },
            ipv4: ip(UInt8(id)), namedPorts: namedPorts)
    }

    /// The DigitalOcean tutorial's pods: frontend, backend, database, and a client in default.
    public static let tutorialEndpoints: [EndpointDescriptor] = [
        endpoint(1, "frontend", "frontend-6d4b", ["app": "frontend"], namespaceLabels: ["name": "frontend"]),
        endpoint(2, "backend", "backend-7f8b", ["app": "backend"], namespaceLabels: ["name": "backend"]),
        endpoint(3, "database", "db-5c6d", ["app": "database"], namespaceLabels: ["name": "database"]),
        endpoint(4, "default", "curl-test", ["run": "curl-test"]),
    ]
}

extension PolicyFixtures {
    /// The blog's three-tier app (blog-service-boundaries-cilium.txt) plus its netshoot clients:
    /// kube-dns 1, frontend/web 2, backend/api 3, db/postgres 4, frontend/test 5, backend/app 6.
    public static let blogEndpoints: [EndpointDescriptor] = [
        endpoint(1, "kube-system", "kube-dns", ["k8s-app": "kube-dns"]),
        endpoint(2, "frontend", "web", ["app": "web"], namespaceLabels: ["tier": "frontend"]),
        endpoint(3, "backend", "api", ["app": "api"], namespaceLabels: ["tier": "backend"]),
        endpoint(4, "db", "postgres", ["app": "postgres"], namespaceLabels: ["tier": "db"]),
        endpoint(5, "frontend", "test", ["run": "test"], namespaceLabels: ["tier": "frontend"]),
        endpoint(6, "backend", "app", ["run": "app"], namespaceLabels: ["tier": "backend"]),
    ]

    /// Compiles policy texts (one file each) against `endpoints`.
    public static func compile(
        _ texts: [String], endpoints: [EndpointDescriptor] = tutorialEndpoints,
        kubeAPIServer: [UInt32] = []
    ) throws -> PolicySnapshot {
        let repository = PolicyRepository()
        repository.kubeAPIServerIPv4 = kubeAPIServer
        for (index, text) in texts.enumerated() {
            try repository.apply(yamlText: text, fileName: "p\(index).yaml")
        }
        var allocator = IdentityAllocator()
        return repository.compile(endpoints: endpoints, allocator: &allocator)
    }
}

extension PolicyFixtures {
    /// A cut of proxy-config/sandbox/docs.yaml (the pods of integration/scenarios/32), ids 1...
    public static let docsEndpoints: [EndpointDescriptor] = [
        endpoint(1, "default", "my-api", ["app": "my-api"], namedPorts: ["http": 8080, "metrics": 9100]),
        endpoint(2, "default", "web", ["app": "web"], namedPorts: ["http": 80]),
        endpoint(3, "monitoring", "prometheus", ["app": "prometheus"]),
        endpoint(4, "monitoring", "grafana", ["app": "grafana"]),
        endpoint(5, "staging", "prometheus", ["app": "prometheus"]),
        endpoint(6, "lab", "to-world", ["probe": "world"]),
        endpoint(7, "lab", "to-cluster", ["probe": "cluster"]),
        endpoint(8, "lab", "to-host", ["probe": "host"]),
        endpoint(9, "lab", "to-all", ["probe": "all"]),
        endpoint(10, "lab", "to-apiserver", ["probe": "apiserver"]),
        endpoint(11, "lab", "to-cidr", ["probe": "cidr"]),
        endpoint(12, "lab", "to-range", ["probe": "range"]),
        endpoint(13, "lab", "to-named", ["probe": "named"]),
        endpoint(14, "lab", "egress-only", ["probe": "policy-types"], namedPorts: ["http": 80]),
        endpoint(15, "lab", "ipblock", ["probe": "ipblock"]),
        endpoint(16, "production", "backend", ["role": "backend"]),
        endpoint(17, "production", "prometheus", ["app": "prometheus"]),
        endpoint(18, "production", "frontend", ["role": "frontend"]),
    ]

    /// The kube-apiserver address the truth tables give `PolicyRepository` (10.96.0.1).
    public static let kubeAPIServer = [UInt32(bigEndian: 0x0A60_0001)]
}

extension PolicyFixtures {
    /// Compiles one policy file named `fileName` against the tutorial's endpoints.
    public static func compile(file text: String, fileName: String = "policy.yaml") throws -> PolicySnapshot {
        let repository = PolicyRepository()
        try repository.apply(yamlText: text, fileName: fileName)
        var allocator = IdentityAllocator()
        return repository.compile(endpoints: tutorialEndpoints, allocator: &allocator)
    }

    /// The message of the error that compiling `text` as policy.yaml throws, nil if it compiles.
    public static func compileError(_ text: String) -> String? {
        do {
            _ = try compile(file: text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// A CNP p on the tutorial's backend pod with one rule `rule` (YAML lines indented for `- `)
    /// in `section`.
    public static func backendCNP(_ rule: String, section: String = "ingress") -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: p, namespace: backend}
        spec:
          endpointSelector: {matchLabels: {app: backend}}
          \(section):
        \(rule)
        """
    }
}

extension PolicyFixtures {
    /// A CiliumNetworkPolicy `name` in `namespace` selecting `selector` (a YAML flow mapping),
    /// whose spec continues with `spec` (YAML lines at column 0: `ingress:`, `egress: [...]`).
    public static func cnp(
        _ name: String = "p", namespace: String = "backend", selector: String = "{matchLabels: {app: backend}}",
        spec: String
    ) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: \(name), namespace: \(namespace)}
        spec:
          endpointSelector: \(selector)

        """ + spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}
