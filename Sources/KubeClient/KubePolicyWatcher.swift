import Glibc
import Policy
import SluiceJSON

/// The policies in the API: one `Informer` per kind (`PolicyObjects.resourcePaths`), every
/// object validated on its own, and `onChange` called with the whole state, once all three kinds
/// have been listed and on every change after that. Each informer keeps its last complete list
/// through relists and outages, so the state never loses a policy that is still in the API.
///
/// Keys are `<kind resource name>/<store key>` (`ciliumnetworkpolicies/team-a/web`,
/// `networkpolicies/default/db`, `ciliumclusterwidenetworkpolicies/dns`).
public final class KubePolicyWatcher: @unchecked Sendable {
    /// What the API holds now.
    public struct State: Sendable {
        /// The valid objects' documents, ready for a policy transaction.
        public var documents: [String: PolicyNode] = [:]
        /// The invalid objects' errors (reported; the others stay in force).
        public var errors: [String: String] = [:]

        public init(documents: [String: PolicyNode] = [:], errors: [String: String] = [:]) {
            self.documents = documents
            self.errors = errors
        }
    }

    private var informers: [Informer] = []
    private var lock = pthread_mutex_t()
    private var state = State()
    private var synced: Set<String> = []
    private let onChange: (State) -> Void

    public init(
        client: HTTPSClient, backoff: Backoff = Backoff(), log: @escaping (String) -> Void = { _ in },
        onChange: @escaping (State) -> Void
    ) {
        self.onChange = onChange
        pthread_mutex_init(&lock, nil)
        for (_, path) in PolicyObjects.resourcePaths {
            let resource = String(path.split(separator: "/").last!)
            let informer = Informer(client: client, path: path, log: log) { [unowned self] update in
                self.handle(resource: resource, update)
            }
            informer.backoff = backoff
            informers.append(informer)
        }
    }

    deinit { pthread_mutex_destroy(&lock) }

    public func start() { informers.forEach { $0.start() } }

    public func stop() { informers.forEach { $0.stop() } }

    /// The state now (valid only once `isSynced`).
    public func current() -> (state: State, isSynced: Bool) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return (state, synced.count == informers.count)
    }

    /// Each informer's path, resourceVersion and complete lists so far, in `resourcePaths` order
    /// (for `sluice status`).
    public func informerStates() -> [(path: String, resourceVersion: String?, lists: Int)] {
        informers.map {
            let s = $0.snapshot()
            return (path: $0.path, resourceVersion: s.resourceVersion, lists: s.lists)
        }
    }

    /// How many complete lists each informer has made (1 + its relists), in `resourcePaths` order.
    public func listCounts() -> [Int] { informers.map { $0.snapshot().lists } }

    private func handle(resource: String, _ update: Informer.Update) {
        pthread_mutex_lock(&lock)
        var deltas: [KubeStore.Delta]
        switch update {
        case .synced(_, let changes):
            synced.insert(resource)
            deltas = changes
        case .delta(let delta):
            deltas = [delta]
        }
        for delta in deltas {
            switch delta {
            case .upsert(let key, let object):
                let name = resource + "/" + key
                let document = PolicyObjects.document(object)
                do {
                    _ = try PolicyFileParser.parse(documents: [document], fileName: PolicyObjects.sourceName(object))
                    state.documents[name] = document
                    state.errors[name] = nil
                } catch {
                    state.documents[name] = nil
                    state.errors[name] = String(describing: error)
                }
            case .delete(let key):
                state.documents[resource + "/" + key] = nil
                state.errors[resource + "/" + key] = nil
            }
        }
        let ready = synced.count == informers.count
        let snapshot = state
        pthread_mutex_unlock(&lock)
        // Called outside the lock, on the informer's thread; calls may come from the three
        // informers' threads, so the receiver serialises what it does with them.
        if ready { onChange(snapshot) }
    }
}
