import Glibc
import SluiceJSON
import SluiceSync

/// Several `Informer`s (one per list path) folded into one state under one lock: each delta goes
/// through `apply` (under the lock, on the informer's thread), and `onChange` gets the state once
/// every path has been listed and after every change from then on. What `KubePolicyWatcher` and
/// `KubeWorkloads` share; each informer keeps its last complete list through relists and
/// outages, so the state never loses an object that is still in the API.
public final class InformerGroup<State: Sendable>: @unchecked Sendable {
    /// The informers, in the order of the paths given.
    public private(set) var informers: [Informer] = []
    private let lock = Lock()
    private var state: State
    private var synced: Set<String> = []
    private let apply: (inout State, _ path: String, KubeStore.Delta) -> Void
    private let onChange: (State) -> Void

    /// - Parameters:
    ///   - transform: what each informer keeps of an object (`Informer.transform`), by path.
    ///   - apply: folds one delta of `path` into the state (under the lock).
    ///   - onChange: called outside the lock, on the informer's thread, with the state then;
    ///     calls may come from every informer's thread, so the receiver serialises them.
    public init(
        client: HTTPSClient, paths: [String], initial: State, backoff: Backoff, log: @escaping (String) -> Void,
        transform: (String) -> ((JSONValue) -> JSONValue)? = { _ in nil },
        apply: @escaping (inout State, _ path: String, KubeStore.Delta) -> Void,
        onChange: @escaping (State) -> Void
    ) {
        state = initial
        self.apply = apply
        self.onChange = onChange
        for path in paths {
            let informer = Informer(client: client, path: path, log: log) { [unowned self] update in
                self.handle(path: path, update)
            }
            informer.backoff = backoff
            informer.transform = transform(path)
            informers.append(informer)
        }
    }

    public func start() { informers.forEach { $0.start() } }

    public func stop() { informers.forEach { $0.stop() } }

    /// The state now (complete only once `isSynced`: every path listed).
    public func current() -> (state: State, isSynced: Bool) {
        lock.withLock { (state, synced.count == informers.count) }
    }

    private func handle(path: String, _ update: Informer.Update) {
        let (ready, snapshot) = lock.withLock {
            let deltas: [KubeStore.Delta]
            switch update {
            case .synced(_, let changes):
                synced.insert(path)
                deltas = changes
            case .delta(let delta):
                deltas = [delta]
            }
            for delta in deltas { apply(&state, path, delta) }
            return (synced.count == informers.count, state)
        }
        if ready { onChange(snapshot) }
    }
}
