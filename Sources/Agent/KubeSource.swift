import Glibc
import KubeClient
import SluiceAPI
import SluiceIO
import SluiceSync

/// The agent's link to the Kubernetes API: one HTTPS client, the policy watcher (CNP, CCNP,
/// NetworkPolicy), the namespace and pod informers, and one reconcile thread.
///
/// The informers' threads only mark the state dirty; the reconcile thread calls `reconcile`
/// (the agent's, which takes the control lock) with the newest complete state, so a burst of
/// events (a relist of 5,000 pods) costs one install, and reconciles never overlap. A reconcile
/// that reports it must be retried (an identity allocation or an install failed) runs again
/// after `retryInterval` even without a new event. While the API is away the informers keep
/// their last complete lists, so the state in force does not change.
final class KubeSource: @unchecked Sendable {
    /// What the reconcile thread hands the agent.
    struct Snapshot {
        var policies: KubePolicyWatcher.State
        var policiesSynced: Bool
        var workloads: KubeWorkloads.State
        var workloadsSynced: Bool
    }

    let source: KubernetesSource
    let client: HTTPSClient
    private(set) var policies: KubePolicyWatcher!
    private(set) var workloads: KubeWorkloads!
    /// Rejected policy objects as Events (with a node name only).
    private(set) var events: EventRecorder?
    var retryInterval: Double = 1
    /// When set, a reconcile runs at least this often (seconds) even without an event or a
    /// retry (`--endpoints-from=kubernetes` re-reads the node's addresses).
    var periodicInterval: Double?
    /// Returns false when it must run again soon. Called on the reconcile thread only.
    private let reconcile: (Snapshot) -> Bool
    private let condition = Condition()
    private var dirty = false
    private var stopping = false
    private var thread: pthread_t?
    private var lastError: (message: String, at: UInt64)?
    private var reconciles = 0
    private var reconciling = false

    /// No change waiting and no reconcile running (tests wait for it).
    var isIdle: Bool { condition.withLock { !dirty && !reconciling } }

    /// - Parameter nodeName: the node events are reported from (`source.host`); nil: no events.
    init(
        source: KubernetesSource, config: KubeConfig, nodeName: String? = nil, backoff: Backoff = Backoff(),
        reconcile: @escaping (Snapshot) -> Bool
    ) throws(KubeError) {
        self.source = source
        client = try HTTPSClient(config: config)
        self.reconcile = reconcile
        let log: (String) -> Void = { [unowned self] message in self.record(error: message) }
        events = nodeName.map { EventRecorder(client: client, nodeName: $0, log: log) }
        policies = KubePolicyWatcher(client: client, backoff: backoff, events: events, log: log) {
            [unowned self] _ in self.markDirty()
        }
        workloads = KubeWorkloads(client: client, backoff: backoff, log: log) { [unowned self] in self.markDirty() }
    }

    /// Starts the reconcile thread, then the informers.
    func start() {
        thread = KubeThread.start { self.run() }
        events?.start()
        policies.start()
        workloads.start()
    }

    /// Stops the informers, then the reconcile thread, and waits for them.
    func stop() {
        policies.stop()
        workloads.stop()
        events?.stop()
        condition.withLock {
            stopping = true
            condition.signal()
        }
        KubeThread.join(&thread)
    }

    private func markDirty() {
        condition.withLock {
            dirty = true
            condition.signal()
        }
    }

    /// Records a problem of the agent's side (shown as the last error).
    func note(_ message: String) { record(error: message) }

    private func record(error message: String) {
        condition.withLock { lastError = (message, SystemClock.monotonicNs()) }
    }

    private func run() {
        var retry = false
        while true {
            let go: Bool = condition.withLock {
                if !dirty && !stopping {
                    if retry || periodicInterval != nil {
                        let wait = retry ? min(retryInterval, periodicInterval ?? retryInterval) : periodicInterval ?? 1
                        condition.wait(untilMonotonicNs: SystemClock.monotonicNs() + UInt64(wait * 1e9))
                    } else {
                        condition.wait()
                    }
                }
                if stopping { return false }
                dirty = false
                reconciling = true
                return true
            }
            guard go else { return }
            let (policyState, policiesSynced) = policies.current()
            let (workloadState, workloadsSynced) = workloads.current()
            retry = !reconcile(
                Snapshot(
                    policies: policyState, policiesSynced: policiesSynced, workloads: workloadState,
                    workloadsSynced: workloadsSynced))
            condition.withLock {
                reconciles += 1
                reconciling = false
            }
        }
    }

    /// The connection part of `sluice status`: the server and how it is configured, whether
    /// each kind is listed and at which resourceVersion, and the last error any informer met.
    func status() -> KubernetesStatus {
        var resources = policies.informerStates().map {
            KubernetesStatus.Resource(
                name: Self.resource($0.path), resourceVersion: $0.resourceVersion, lists: $0.lists)
        }
        resources += workloads.informers.map {
            let s = $0.snapshot()
            return KubernetesStatus.Resource(
                name: Self.resource($0.path), resourceVersion: s.resourceVersion, lists: s.lists)
        }
        let lastError = condition.withLock { self.lastError }.map { error in
            "\(error.message) (\((SystemClock.monotonicNs() &- error.at) / 1_000_000_000)s ago)"
        }
        return KubernetesStatus(
            server: client.config.server, source: source.description, synced: resources.allSatisfy { $0.lists > 0 },
            resources: resources, lastError: lastError, identities: "", policiesInForce: 0, errors: [])
    }

    /// The resource of a list path (`/api/v1/pods` → `pods`).
    static func resource(_ path: String) -> String {
        path.split(separator: "?").first.flatMap { $0.split(separator: "/").last }.map(String.init) ?? path
    }
}
