import Flows

/// The agent's link to the Kubernetes API as `sluice status` shows it (`AgentIntrospection`):
/// the server, whether every kind is listed and at which resourceVersion, the last error, the
/// identity allocation, and every policy object that is not in force with its error.
public struct KubernetesStatus: Codable, Equatable, Sendable {
    /// One watched resource (`ciliumnetworkpolicies`, `pods`, …).
    public struct Resource: Codable, Equatable, Sendable {
        public var name: String
        /// The informer's position; nil before the first list.
        public var resourceVersion: String?
        /// Complete lists so far (1 + relists).
        public var lists: Int

        public init(name: String, resourceVersion: String?, lists: Int) {
            self.name = name
            self.resourceVersion = resourceVersion
            self.lists = lists
        }
    }

    /// A policy object of the API that is not in force (or whose latest version is not).
    public struct ObjectError: Codable, Equatable, Sendable {
        /// The resource (`ciliumnetworkpolicies`), namespace (empty for cluster-wide) and name.
        public var resource: String
        public var namespace: String
        public var name: String
        public var error: String

        /// From the watcher's key, `resource/namespace/name` or `resource/name`.
        public init(key: String, error: String) {
            let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            resource = parts.first ?? key
            namespace = parts.count == 3 ? parts[1] : ""
            name = parts.last ?? key
            self.error = error
        }
    }

    public var server: String
    /// `kubeconfig PATH` or `in-cluster`.
    public var source: String
    /// Every kind listed at least once.
    public var synced: Bool
    public var resources: [Resource]
    /// The last error an informer met (`… (12s ago)`), nil when none.
    public var lastError: String?
    /// `per node` or `cluster-wide`, with the allocator's last error if any.
    public var identities: String
    /// Policy objects of the API in force.
    public var policiesInForce: Int
    public var errors: [ObjectError]
    /// What the start made of the cached state (`restored 3 policies from …`), nil without one.
    public var atStart: String?
    /// The node's own addresses the agent classes as host (`--endpoints-from=kubernetes`), nil
    /// when the endpoints file gives them.
    public var nodeAddresses: [String]?

    public init(
        server: String, source: String, synced: Bool, resources: [Resource], lastError: String?, identities: String,
        policiesInForce: Int, errors: [ObjectError], atStart: String? = nil
    ) {
        self.server = server
        self.source = source
        self.synced = synced
        self.resources = resources
        self.lastError = lastError
        self.identities = identities
        self.policiesInForce = policiesInForce
        self.errors = errors
        self.atStart = atStart
    }

    /// The lines `sluice status` prints (after its table).
    public var lines: [String] {
        var lines = [
            "Kubernetes:       \(synced ? "Ok" : "Not synced")   \(server) (\(source))"
        ]
        let rows = resources.map { r -> [String] in
            [
                "  " + r.name + ":", "resourceVersion \(r.resourceVersion ?? "-"),",
                r.lists > 0 ? "listed \(r.lists)x" : "not listed",
            ]
        }
        lines += TextTable.align(rows)
        lines.append("  last error: " + (lastError ?? "none"))
        lines.append("  identities: " + identities)
        if let atStart { lines.append("  at start: " + atStart) }
        if let nodeAddresses {
            lines.append(
                "  node addresses (host): " + (nodeAddresses.isEmpty ? "none" : nodeAddresses.joined(separator: ", ")))
        }
        lines.append(
            "  policies from the API: \(policiesInForce) in force, "
                + (errors.isEmpty ? "no errors" : "\(errors.count) with errors:"))
        for e in errors {
            lines.append("    \(e.resource) \(e.namespace.isEmpty ? "" : e.namespace + "/")\(e.name): \(e.error)")
        }
        return lines
    }
}
