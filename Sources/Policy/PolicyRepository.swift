/// The policy objects in force on the node, keyed like kubectl by (kind, namespace, name).
///
/// Owned by the agent and used from one thread (not `Sendable`); it hands out immutable
/// `PolicySnapshot`s that any thread may use.
public final class PolicyRepository {
    /// What `apply` did, in kubectl's words.
    public struct ApplyResult: Sendable, CustomStringConvertible {
        /// What happened to one object.
        public enum Action: String, Sendable {
            /// New object.
            case created
            /// Replaced an object with different content.
            case configured
            /// Same content as before.
            case unchanged
        }

        /// Each object of the file, in file order, with what happened to it.
        public var changes: [(key: PolicyKey, action: Action)]
        /// Non-fatal notes (e.g. a namespace in a CNP endpointSelector that Cilium overrides).
        public var warnings: [String]

        /// `ciliumnetworkpolicy.cilium.io/backend-http-rules created`, one line per object, like kubectl.
        public var description: String {
            changes.map { "\($0.key.kind.resourceName)/\($0.key.name) \($0.action.rawValue)" }.joined(separator: "\n")
        }
    }

    private var documents: [PolicyKey: PolicyDocument] = [:]
    /// Addresses (network order) of the Kubernetes API server: the ipcache gives them the
    /// reserved identity kube-apiserver (7), which `toEntities: [kube-apiserver]` selects.
    public var kubeAPIServerIPv4: [UInt32] = []
    /// Whether the node reaches its pods whatever their policy says (`--allow-localhost`).
    public var allowLocalhost: AllowLocalhost = .always

    /// Creates an empty repository.
    public init() {}

    /// The keys of the objects in force, sorted.
    public var keys: [PolicyKey] { documents.keys.sorted() }

    /// Parses and validates every document of a file (`PolicyYAML.documents` builds them from the
    /// text), then stores them all, replacing objects with the same key (like `kubectl apply`).
    /// Atomic: on any error nothing changes.
    @discardableResult
    public func apply(documents roots: [PolicyNode], fileName: String) throws(LoadError) -> ApplyResult {
        let parsed = try PolicyFileParser.parse(documents: roots, fileName: fileName)
        var result = ApplyResult(changes: [], warnings: parsed.warnings)
        for document in parsed.documents {
            let action: ApplyResult.Action
            if let old = documents[document.key] {
                action = old.canonical == document.canonical ? .unchanged : .configured
            } else {
                action = .created
            }
            documents[document.key] = document
            result.changes.append((document.key, action))
        }
        return result
    }

    /// Removes one object; returns whether it existed.
    @discardableResult
    public func delete(kind: PolicyKind, namespace: String, name: String) -> Bool {
        documents.removeValue(forKey: PolicyKey(kind: kind, namespace: namespace, name: name)) != nil
    }

    /// Removes every object named in a file's documents (like `kubectl delete -f`); returns the
    /// keys that existed. The file must be valid; on error nothing changes.
    @discardableResult
    public func delete(documents roots: [PolicyNode], fileName: String) throws(LoadError) -> [PolicyKey] {
        let parsed = try PolicyFileParser.parse(documents: roots, fileName: fileName)
        return parsed.documents.compactMap { documents.removeValue(forKey: $0.key)?.key }
    }

    /// Compiles the objects in force against `endpoints` (identities are allocated from
    /// `allocator` in endpoint order) into an immutable snapshot.
    public func compile(endpoints: [EndpointDescriptor], allocator: inout IdentityAllocator) -> PolicySnapshot {
        var compiler = PolicyCompiler(documents: Array(documents.values), endpoints: endpoints, allocator: &allocator)
        compiler.kubeAPIServerIPv4 = kubeAPIServerIPv4
        compiler.allowLocalhost = allowLocalhost
        return compiler.build()
    }

    /// The canonical listing of everything in force, sorted by key (for `sluice policy get`):
    /// one block per object with its normalised selectors and rules.
    public func listing() -> String {
        keys.compactMap { documents[$0]?.canonical }.joined(separator: "---\n")
    }
}
