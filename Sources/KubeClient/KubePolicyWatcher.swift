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

    private let group: InformerGroup<State>
    private var informers: [Informer] { group.informers }

    /// - Parameter events: where each rejected object version is reported as an Event (nil: only
    ///   in `State.errors`).
    public init(
        client: HTTPSClient, backoff: Backoff = Backoff(), events: EventRecorder? = nil,
        log: @escaping (String) -> Void = { _ in }, onChange: @escaping (State) -> Void
    ) {
        group = InformerGroup(
            client: client, paths: PolicyObjects.resourcePaths.map(\.path), initial: State(), backoff: backoff,
            log: log, transform: { _ in PolicyObjects.kept },
            apply: { state, path, delta in Self.apply(&state, path: path, delta, events: events) },
            onChange: onChange)
    }

    public func start() { group.start() }

    public func stop() { group.stop() }

    /// The state now (valid only once `isSynced`).
    public func current() -> (state: State, isSynced: Bool) { group.current() }

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

    /// One delta of the kind at `path` into the state: an object is validated on its own; a
    /// rejected one is reported to `events`.
    static func apply(_ state: inout State, path: String, _ delta: KubeStore.Delta, events: EventRecorder? = nil) {
        let resource = String(path.split(separator: "/").last!)
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
                events?.report(PolicyEvent.ObjectReference(object), message: PolicyEvent.message(of: error))
            }
        case .delete(let key):
            state.documents[resource + "/" + key] = nil
            state.errors[resource + "/" + key] = nil
        }
    }
}
