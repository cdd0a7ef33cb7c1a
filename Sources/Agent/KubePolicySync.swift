import KubeClient
import Policy
import SluiceModel

/// Keeps the policy in force equal to what the Kubernetes API holds (the policy source beside
/// `sluice apply`): each reconcile turns the difference between the API's state and what this
/// source last installed into ONE `PolicyTransaction` (objects set, changed and removed
/// together, with the endpoints' new labels and the pods of other nodes), committed through
/// `NodePolicy.commit` like an apply — so a relist, which hands over a complete new list at
/// once, replaces the state without a moment in which a policy is missing.
///
/// Errors are per object and never keep the others out:
/// - an object that fails validation (the watcher's `errors`) is reported; if an earlier version
///   of it is in force that version stays (as Cilium keeps the rules of a CNP whose update does
///   not parse), else it is not in force;
/// - when the whole change cannot be installed (a conflict between objects, a full map), each
///   changed object is tried alone and the ones that fail are reported with their error.
///
/// Objects this source set are its own: `sluice apply`/`delete` of one of them is refused
/// (`owns`), and an API object replaces a local one of the same kind, namespace and name.
/// Nothing from the API is stored in the policy store (the API is the source after a restart).
/// Control lock held by the caller.
final class KubePolicySync {
    /// One API object in force: the document installed and its key.
    struct Applied: Equatable {
        var document: PolicyNode
        var key: PolicyKey
    }

    /// The file name transactions of this source carry (in messages).
    static let fileName = "kubernetes"

    /// By watcher key (`ciliumnetworkpolicies/team-a/web`).
    private(set) var applied: [String: Applied] = [:]
    /// The watcher's validation errors, by watcher key, as of the last reconcile.
    private(set) var validationErrors: [String: String] = [:]
    /// Objects valid alone that could not be installed, by watcher key.
    private(set) var installErrors: [String: String] = [:]
    /// Completed reconciles that changed the policy in force, and the last one's result.
    private(set) var commits = 0
    private(set) var lastResult = ""
    /// What the start made of the cache (`sluice status`), nil without one.
    private(set) var cacheNote: String?

    /// Where the last installed state is cached (`KubeStateCache`); nil: not cached (tests).
    var stateDirectory: String?

    /// Whether `key` is set by the API (`sluice apply`/`delete` of it are refused).
    func owns(_ key: PolicyKey) -> Bool { applied.values.contains { $0.key == key } }

    /// Every object error (validation first), sorted by watcher key.
    var errors: [(key: String, error: String)] {
        validationErrors.merging(installErrors) { validation, _ in validation }
            .sorted { $0.key < $1.key }.map { (key: $0.key, error: $0.value) }
    }

    /// `errors` as `ciliumnetworkpolicies/default/bad: <why>`.
    var errorLines: [String] { errors.map { "\($0.key): \($0.error)" } }

    /// Makes the policy in force match `state` with `endpoints` (local, with the API's labels)
    /// and `remote` (pods of other nodes). Returns whether the policy in force changed.
    @discardableResult
    func reconcile(
        _ state: KubePolicyWatcher.State, endpoints: [EndpointDescriptor], remote: [EndpointDescriptor],
        policy: NodePolicy, force: Bool = false
    ) -> Bool {
        validationErrors = state.errors
        let changed = state.documents.keys.sorted().filter { applied[$0]?.document != state.documents[$0] }
        let removed = applied.keys.sorted().filter { state.documents[$0] == nil && state.errors[$0] == nil }
        let endpointsChanged = endpoints != policy.endpoints || remote != policy.repository.remoteEndpoints
        for key in removed { installErrors[key] = nil }
        guard !changed.isEmpty || !removed.isEmpty || endpointsChanged || force else { return false }

        if commit(changed: changed, removed: removed, state, endpoints: endpoints, remote: remote, policy) {
            for key in changed { installErrors[key] = nil }
            return true
        }
        // The change as a whole failed: the removals and the endpoints first, then each
        // object alone, so one object's conflict keeps out only that object.
        var any = commit(changed: [], removed: removed, state, endpoints: endpoints, remote: remote, policy)
        for key in changed {
            if commit(changed: [key], removed: [], state, endpoints: endpoints, remote: remote, policy) {
                installErrors[key] = nil
                any = true
            }
        }
        return any
    }

    /// One transaction: `changed` set, `removed` gone, the endpoints as given. On failure the
    /// error goes to `installErrors` of each changed key (or to `lastResult`), and the endpoints
    /// stay as they were.
    private func commit(
        changed: [String], removed: [String], _ state: KubePolicyWatcher.State,
        endpoints: [EndpointDescriptor], remote: [EndpointDescriptor], _ policy: NodePolicy
    ) -> Bool {
        let documents = changed.compactMap { state.documents[$0] }
        let removals = removed.compactMap { applied[$0]?.key }
        let transaction: PolicyTransaction
        var keys: [PolicyKey] = []
        do {
            let apply = try PolicyTransaction.apply(
                documents: documents, fileName: Self.fileName, repository: policy.repository)
            keys = apply.change.upserts.map(\.key)
            // A removed object whose key a changed one sets again (renamed kind?) is not removed.
            let change = apply.change.removing(removals.filter { !keys.contains($0) })
            transaction = PolicyTransaction(
                fileName: Self.fileName, change: change, fqdnSelectors: apply.fqdnSelectors, stored: nil)
        } catch {
            for key in changed { installErrors[key] = "\(error)" }
            return false
        }
        guard keys.count == changed.count else {
            for key in changed { installErrors[key] = "the object did not give one policy document" }
            return false
        }
        let previous = (policy.endpoints, policy.repository.remoteEndpoints)
        policy.endpoints = endpoints
        policy.repository.remoteEndpoints = remote
        do {
            let result = try policy.commit(transaction)
            lastResult = result.description
        } catch {
            (policy.endpoints, policy.repository.remoteEndpoints) = previous
            for key in changed { installErrors[key] = "\(error)" }
            if changed.isEmpty { lastResult = "\(error)" }
            return false
        }
        for (watcherKey, key) in zip(changed, keys) {
            if let document = state.documents[watcherKey] {
                applied[watcherKey] = Applied(document: document, key: key)
            }
        }
        for key in removed { applied[key] = nil }
        commits += 1
        saveCache(policy)
        return true
    }

    /// Writes what is in force from the API (`KubeStateCache`); a failure is only reported (the
    /// cache serves restarts while the API is away, nothing else).
    private func saveCache(_ policy: NodePolicy) {
        guard let stateDirectory else { return }
        let cache = KubeStateCache(
            policies: applied.mapValues(\.document), local: policy.endpoints,
            remote: policy.repository.remoteEndpoints)
        do {
            try cache.save(stateDirectory: stateDirectory)
        } catch {
            lastResult = "the state from the API was not cached for restarts: \(error)"
        }
    }

    /// At start, before anything is installed: the state the API gave last (`KubeStateCache`),
    /// committed into `policy` (which has no datapath or proxy yet, so this only compiles) and
    /// taken as what this source has in force. A cache that no longer applies is dropped (the
    /// API is asked anyway). Returns what happened, for the status.
    @discardableResult
    func restoreCache(into policy: NodePolicy, fileEndpoints: [EndpointDescriptor]) -> String? {
        guard let stateDirectory else { return nil }
        let (loaded, error) = KubeStateCache.load(stateDirectory: stateDirectory)
        guard let cache = loaded else {
            cacheNote = error
            return error
        }
        var state = KubePolicyWatcher.State()
        state.documents = cache.policies
        let restored = reconcile(
            state, endpoints: cache.localEndpoints(fileEndpoints), remote: cache.remote,
            policy: policy)
        // What did not apply stays out (the next reconcile tries it again against the API's
        // state); what did is in `applied`, so the API's first list replaces it.
        let failed = installErrors.count
        installErrors = [:]
        cacheNote =
            "restored \(applied.count) policies from \(KubeStateCache.path(stateDirectory: stateDirectory))"
            + (restored ? "" : " (none could be installed)") + (failed > 0 ? ", \(failed) did not apply" : "")
        return cacheNote
    }
}
