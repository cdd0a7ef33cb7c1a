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

    /// A change to the objects in force, computed without changing them: `prepareApply` makes
    /// one (and a delete would make one with `removals`), `compile(_:endpoints:allocator:)`
    /// builds the snapshot it would give, and only `commit` makes it the state. The agent
    /// installs the snapshot everywhere first and commits only once everything took it.
    public struct Change: Sendable {
        /// Objects set, in file order (a later one with the same key wins).
        public internal(set) var upserts: [PolicyDocument]
        /// Objects removed.
        public internal(set) var removals: [PolicyKey]
        /// What the change does, in kubectl's words.
        public internal(set) var result: ApplyResult

        /// A change removing `keys` (what `kubectl delete` would send).
        public init(removing keys: [PolicyKey]) {
            upserts = []
            removals = keys
            result = ApplyResult(changes: [], warnings: [])
        }

        init(upserts: [PolicyDocument], result: ApplyResult) {
            self.upserts = upserts
            removals = []
            self.result = result
        }

        /// This change, also removing `keys` (objects it does not set): one change for a source
        /// that sets some objects and removes others at once (the Kubernetes API's state).
        public func removing(_ keys: [PolicyKey]) -> Change {
            var change = self
            change.removals += keys
            return change
        }

        /// Every key the change sets or removes.
        public var keys: [PolicyKey] { upserts.map(\.key) + removals }
    }

    private var documents: [PolicyKey: PolicyDocument] = [:]
    /// What the last compile compiled per document, reused for unchanged documents.
    private var compileCache = PolicyCompiler.Cache()
    /// How many documents the last compile compiled; the others were unchanged and reused
    /// (a change of one object among many compiles one).
    public var lastCompiledDocuments: Int { compileCache.compiledDocuments }
    /// Addresses (network order) of the Kubernetes API server: the ipcache gives them the
    /// reserved identity kube-apiserver (7), which `toEntities: [kube-apiserver]` selects.
    public var kubeAPIServerIPv4: [UInt32] = []
    /// Whether the node reaches its pods whatever their policy says (`--allow-localhost`).
    public var allowLocalhost: AllowLocalhost = .always
    /// Pods of other nodes (from the Kubernetes API): their identities are selectable as peers
    /// and their addresses go into the ipcache; no policy applies to them here.
    public var remoteEndpoints: [EndpointDescriptor] = []

    /// Creates an empty repository.
    public init() {}

    /// The keys of the objects in force, sorted.
    public var keys: [PolicyKey] { documents.keys.sorted() }

    /// The objects in force, by key order.
    public var documentsInForce: [PolicyDocument] { keys.compactMap { documents[$0] } }

    /// Parses and validates every document of a file (`PolicyYAML.documents` builds them from the
    /// text), then stores them all, replacing objects with the same key (like `kubectl apply`).
    /// Atomic: on any error nothing changes.
    @discardableResult
    public func apply(documents roots: [PolicyNode], fileName: String) throws(LoadError) -> ApplyResult {
        let change = try prepareApply(documents: roots, fileName: fileName)
        commit(change)
        return change.result
    }

    /// Parses and validates every document of a file into a `Change` that sets them; nothing in
    /// force changes. Throws the first `LoadError`.
    public func prepareApply(documents roots: [PolicyNode], fileName: String) throws(LoadError) -> Change {
        let parsed = try PolicyFileParser.parse(documents: roots, fileName: fileName)
        var result = ApplyResult(changes: [], warnings: parsed.warnings)
        var seen: [PolicyKey: PolicyDocument] = [:]
        var upserts = parsed.documents
        for index in upserts.indices {
            let document = upserts[index]
            let action: ApplyResult.Action
            if let old = seen[document.key] ?? documents[document.key] {
                action = old.canonical == document.canonical ? .unchanged : .configured
            } else {
                action = .created
            }
            if let inForce = documents[document.key] {
                // The key in force (an equal value): the parsed key's names are blocks made in
                // the middle of this apply's transient ones, and 1,000 of them kept for the
                // objects of a re-applied file held 1.3 MiB of otherwise free heap pages
                // resident (docs/performance.md, s21-mem).
                upserts[index].key = inForce.key
                // The same rules as in force: keep those (the parsed copy is freed now, and the
                // compiler reuses what it compiled from them); only where the document came from is new.
                if inForce.rules == document.rules {
                    upserts[index].rules = inForce.rules
                    upserts[index].revision = inForce.revision
                }
            }
            seen[document.key] = document
            result.changes.append((document.key, action))
        }
        return Change(upserts: upserts, result: result)
    }

    /// Makes `change` the state: its objects replace those with the same keys, its removals go.
    public func commit(_ change: Change) {
        for key in change.removals { documents[key] = nil }
        for document in change.upserts { documents[document.key] = document }
        // The patterns of the objects replaced or removed, unless a snapshot still uses them
        // (those go at the next sweep: `Regex.sweepUnused`).
        Regex.sweepUnused()
    }

    /// Frees the compiled patterns no object, snapshot or parse uses any more (`commit` does it
    /// too, but a pattern the previous snapshot still held then stays until the next sweep): the
    /// agent calls it once the workers run the new snapshot. Returns how many were freed.
    @discardableResult
    public static func freeUnusedPatterns() -> Int { Regex.sweepUnused() }

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
        compile(nil, endpoints: endpoints, allocator: &allocator)
    }

    /// Compiles the objects in force with `change` made (without making it) into an immutable
    /// snapshot. Its `diagnostics` are the conflicts that make the change unacceptable.
    public func compile(
        _ change: Change?, endpoints: [EndpointDescriptor],
        allocator: inout IdentityAllocator
    ) -> PolicySnapshot {
        var candidate = documents
        if let change {
            for key in change.removals { candidate[key] = nil }
            for document in change.upserts { candidate[document.key] = document }
        }
        var compiler = PolicyCompiler(
            documents: Array(candidate.values), endpoints: endpoints, remote: remoteEndpoints, allocator: &allocator)
        compiler.kubeAPIServerIPv4 = kubeAPIServerIPv4
        compiler.allowLocalhost = allowLocalhost
        compiler.cache = compileCache
        compileCache = PolicyCompiler.Cache()
        let snapshot = compiler.build()
        compileCache = compiler.cache
        return snapshot
    }

    /// The canonical listing of everything in force, sorted by key (for `sluice policy get`):
    /// one block per object with its normalised selectors and rules.
    public func listing() -> String {
        keys.compactMap { documents[$0]?.canonical }.joined(separator: "---\n")
    }
}
