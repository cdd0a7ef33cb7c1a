import KubeClient
import Policy
import SluiceModel

/// This node's pods as the Kubernetes API lists them (`--endpoints-from=kubernetes`): the
/// endpoints the agent enforces policy on when no endpoints file names them (pure).
///
/// A pod is local when its `spec.nodeName` is this node, it has an address of its own (not
/// `hostNetwork`, an IPv4 in `status.podIPs`) and it runs or is starting (phase Running or
/// Pending: the CNI has given it its address). Its identity comes from its labels and its
/// namespace's, as for the pods of other nodes (`KubeEndpoints`).
struct LocalPod: Equatable, Sendable {
    var namespace: String
    var name: String
    /// The first IPv4 address, network order.
    var ipv4: UInt32
    var labels: [String: String]
    var serviceAccount: String
    var namedPorts: [String: UInt16]

    /// `namespace/name`.
    var key: String { namespace + "/" + name }

    /// The local pods of `workloads` on `nodeName`, sorted by key; an address two pods claim
    /// (a stale one) goes to the first by key.
    static func select(_ workloads: KubeWorkloads.State, nodeName: String) -> [LocalPod] {
        var out: [LocalPod] = []
        for pod in workloads.pods.values
        where pod.nodeName == nodeName && !pod.hostNetwork && (pod.phase == "Running" || pod.phase == "Pending") {
            guard let ip = pod.ipv4.lazy.compactMap({ IPv4Address($0) }).first else { continue }
            out.append(
                LocalPod(
                    namespace: pod.namespace, name: pod.name, ipv4: ip.networkOrder, labels: pod.labels,
                    serviceAccount: pod.serviceAccount, namedPorts: pod.namedPorts))
        }
        out.sort { $0.key < $1.key }
        var seen = Set<UInt32>()
        return out.filter { seen.insert($0.ipv4).inserted }
    }
}

/// The local pods the agent has made endpoints of, and the ones still waiting for their route
/// (`--endpoints-from=kubernetes`). `reconcile` is the diff between the API's local pods and
/// this table (pure but for the route lookup it is given):
/// - a pod in the table and in the API with the same address stays (its labels follow the API);
///   a relist hands over the same pods, so nothing is detached;
/// - a pod gone from the API, moved to another node or finished, or whose address changed, is
///   removed (its programs detached by the caller); a changed address comes back as a new
///   endpoint;
/// - a new pod's route is looked up; without a per-pod route yet (the CNI adds it after the
///   address is in the API) it waits and is retried with a doubling delay.
struct LocalEndpointTable {
    struct Entry: Equatable {
        var id: UInt32
        var pod: LocalPod
        var ifindex: Int32
    }

    struct Waiting: Equatable {
        var pod: LocalPod
        var attempts: Int
        var notBeforeNs: UInt64
        var reason: String
    }

    /// What one reconcile changed.
    struct Changes: Equatable {
        /// Removed endpoints (to detach).
        var removed: [Entry] = []
        /// New endpoints (to attach once the policy has them).
        var added: [Entry] = []
        /// Whether any endpoint's labels, service account or named ports changed.
        var relabelled = false

        var isEmpty: Bool { removed.isEmpty && added.isEmpty && !relabelled }
    }

    /// By pod key.
    private(set) var entries: [String: Entry] = [:]
    /// Pods without a route yet, by key.
    private(set) var waiting: [String: Waiting] = [:]
    private(set) var nextID: UInt32 = 1
    var initialDelayNs: UInt64 = 100_000_000
    var maximumDelayNs: UInt64 = 5_000_000_000

    /// The endpoints, sorted by ID (namespace labels are added by `KubeEndpoints.resolve`).
    var descriptors: [EndpointDescriptor] {
        entries.values.sorted { $0.id < $1.id }.map {
            EndpointDescriptor(
                id: $0.id, namespace: $0.pod.namespace, podName: $0.pod.name, podLabels: $0.pod.labels,
                namespaceLabels: [:], ipv4: $0.pod.ipv4, serviceAccount: $0.pod.serviceAccount,
                namedPorts: $0.pod.namedPorts)
        }
    }

    /// Takes `restored` (the endpoints of the last run, from `KubeStateCache`, with their
    /// interfaces found again) as made, so the first list keeps them and their IDs.
    mutating func restore(_ restored: [Entry]) {
        for entry in restored { entries[entry.pod.key] = entry }
        nextID = max(nextID, (restored.map(\.id).max() ?? 0) + 1)
    }

    /// When the next waiting pod is due (monotonic ns), nil when none waits.
    var nextRetryNs: UInt64? { waiting.values.map(\.notBeforeNs).min() }

    /// Makes the table match `desired` (the API's local pods); `lookup` is asked for the route of
    /// each new pod that is due at `nowNs`.
    mutating func reconcile(
        desired: [LocalPod], nowNs: UInt64, lookup: (UInt32) -> PodRoute.Answer
    ) -> Changes {
        var changes = Changes()
        let byKey = Dictionary(desired.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        for key in entries.keys.sorted() {
            guard let entry = entries[key] else { continue }
            if let pod = byKey[key], pod.ipv4 == entry.pod.ipv4 {
                if pod != entry.pod {
                    entries[key]?.pod = pod
                    changes.relabelled = true
                }
            } else {
                entries[key] = nil
                changes.removed.append(entry)
            }
        }
        for key in waiting.keys where byKey[key] == nil { waiting[key] = nil }
        for pod in desired where entries[pod.key] == nil {
            var wait = waiting[pod.key] ?? Waiting(pod: pod, attempts: 0, notBeforeNs: 0, reason: "")
            if wait.pod.ipv4 != pod.ipv4 { wait = Waiting(pod: pod, attempts: 0, notBeforeNs: 0, reason: "") }
            wait.pod = pod
            guard wait.notBeforeNs <= nowNs else {
                waiting[pod.key] = wait
                continue
            }
            switch lookup(pod.ipv4) {
            case .podRoute(let ifindex):
                waiting[pod.key] = nil
                let entry = Entry(id: nextID, pod: pod, ifindex: ifindex)
                nextID += 1
                entries[pod.key] = entry
                changes.added.append(entry)
            case .notPodRoute(let reason), .failed(let reason):
                let shift = UInt64(min(wait.attempts, 20))
                wait.notBeforeNs = nowNs + min(maximumDelayNs, initialDelayNs << shift)
                wait.attempts += 1
                wait.reason = reason
                waiting[pod.key] = wait
            }
        }
        return changes
    }

    /// One line per waiting pod, for `sluice status`.
    var waitingLines: [String] {
        waiting.keys.sorted().compactMap { key in
            waiting[key].map {
                "\(key) \(IPv4Address(networkOrder: $0.pod.ipv4)): no host interface yet (\($0.reason); "
                    + "\($0.attempts) lookups)"
            }
        }
    }
}
