import SluiceJSON

/// Namespaces and Pods from the API, each by its own `Informer` (`/api/v1/namespaces`,
/// `/api/v1/pods`), as the values the agent needs: each namespace's labels and each pod's
/// node, addresses, labels and service account (`PodInfo`). `onChange` runs (on an informer's
/// thread) once both kinds are listed and after every change; like `KubePolicyWatcher`, each
/// informer keeps its last complete list through relists and outages, so the state never loses
/// a pod that is still in the API.
public final class KubeWorkloads: @unchecked Sendable {
    /// What the API holds now.
    public struct State: Sendable, Equatable {
        /// Namespace name to its labels.
        public var namespaces: [String: [String: String]] = [:]
        /// `namespace/name` to the pod.
        public var pods: [String: PodInfo] = [:]

        public init(namespaces: [String: [String: String]] = [:], pods: [String: PodInfo] = [:]) {
            self.namespaces = namespaces
            self.pods = pods
        }
    }

    public static let namespacesPath = "/api/v1/namespaces"
    public static let podsPath = "/api/v1/pods"

    private let group: InformerGroup<State>

    /// The namespaces' and the pods' informers, in that order.
    public var informers: [Informer] { group.informers }

    public init(
        client: HTTPSClient, backoff: Backoff = Backoff(), log: @escaping (String) -> Void = { _ in },
        onChange: @escaping () -> Void
    ) {
        group = InformerGroup(
            client: client, paths: [Self.namespacesPath, Self.podsPath], initial: State(), backoff: backoff, log: log,
            transform: { path in path == Self.podsPath ? PodInfo.kept : Self.keptNamespace },
            apply: Self.apply,
            // The receiver reads `current()` (the newest state) when it acts.
            onChange: { _ in onChange() })
    }

    public func start() { group.start() }

    public func stop() { group.stop() }

    /// The state now (complete only once `isSynced`).
    public func current() -> (state: State, isSynced: Bool) { group.current() }

    /// One delta of `path` into the state.
    static func apply(_ state: inout State, path: String, _ delta: KubeStore.Delta) {
        switch (path, delta) {
        case (Self.namespacesPath, .upsert(let key, let object)):
            state.namespaces[key] = Self.labels(object)
        case (Self.namespacesPath, .delete(let key)):
            state.namespaces[key] = nil
        case (_, .upsert(let key, let object)):
            state.pods[key] = PodInfo(object)
        case (_, .delete(let key)):
            state.pods[key] = nil
        }
    }

    /// What the namespaces' store keeps of a Namespace: its name, labels and resourceVersion.
    static func keptNamespace(_ object: JSONValue) -> JSONValue {
        JSONValue.kept(object, ["metadata": ["name", "labels", "resourceVersion"]])
    }

    /// `metadata.labels` of an object (string values only).
    static func labels(_ object: JSONValue) -> [String: String] {
        var labels: [String: String] = [:]
        if case .object(let members)? = object["metadata"]?["labels"] {
            for (key, value) in members {
                if case .string(let text) = value { labels[key] = text }
            }
        }
        return labels
    }
}

/// One pod as the agent needs it: where it runs, its IPv4 addresses, labels and service
/// account. Read from the API object alone; missing fields are empty.
public struct PodInfo: Sendable, Equatable {
    public var namespace: String
    public var name: String
    /// `spec.nodeName` (empty until scheduled).
    public var nodeName: String
    /// `status.podIPs[].ip` (else `status.podIP`) that are IPv4, dotted quads.
    public var ipv4: [String]
    public var labels: [String: String]
    /// `spec.serviceAccountName`, `default` when absent (as the API server fills it).
    public var serviceAccount: String
    /// `spec.hostNetwork`: the pod has the node's address, not its own (no pod identity).
    public var hostNetwork: Bool
    /// `status.phase`: a Succeeded or Failed pod's address may already be someone else's.
    public var phase: String
    /// `spec.containers[].ports[]` with a name: the name (lowercased) to its `containerPort`.
    public var namedPorts: [String: UInt16]
    /// `status.hostIP` when it is IPv4 (the address of the node the pod runs on), else "".
    public var hostIP: String

    public init(
        namespace: String, name: String, nodeName: String, ipv4: [String], labels: [String: String] = [:],
        serviceAccount: String = "default", hostNetwork: Bool = false, phase: String = "Running",
        namedPorts: [String: UInt16] = [:], hostIP: String = ""
    ) {
        self.namedPorts = namedPorts
        self.hostIP = hostIP
        self.namespace = namespace
        self.name = name
        self.nodeName = nodeName
        self.ipv4 = ipv4
        self.labels = labels
        self.serviceAccount = serviceAccount
        self.hostNetwork = hostNetwork
        self.phase = phase
    }

    public init(_ object: JSONValue) {
        namespace = object["metadata"]?["namespace"]?.stringValue ?? ""
        name = object["metadata"]?["name"]?.stringValue ?? ""
        let spec = object["spec"]
        nodeName = spec?["nodeName"]?.stringValue ?? ""
        let account = spec?["serviceAccountName"]?.stringValue ?? ""
        serviceAccount = account.isEmpty ? "default" : account
        if case .bool(true)? = spec?["hostNetwork"] { hostNetwork = true } else { hostNetwork = false }
        phase = object["status"]?["phase"]?.stringValue ?? ""
        let host = object["status"]?["hostIP"]?.stringValue ?? ""
        hostIP = host.contains(":") ? "" : host
        labels = KubeWorkloads.labels(object)
        var addresses: [String] = []
        if case .array(let items)? = object["status"]?["podIPs"] {
            addresses = items.compactMap { $0["ip"]?.stringValue }
        }
        if addresses.isEmpty, let ip = object["status"]?["podIP"]?.stringValue, !ip.isEmpty { addresses = [ip] }
        ipv4 = addresses.filter { !$0.contains(":") }
        var ports: [String: UInt16] = [:]
        if case .array(let containers)? = spec?["containers"] {
            for container in containers {
                guard case .array(let items)? = container["ports"] else { continue }
                for item in items {
                    guard let name = item["name"]?.stringValue, !name.isEmpty,
                        case .number(let number)? = item["containerPort"], let port = UInt16(number), port > 0
                    else { continue }
                    if ports[name.lowercased()] == nil { ports[name.lowercased()] = port }
                }
            }
        }
        namedPorts = ports
    }

    /// What the pods' store keeps of a Pod (`Informer.transform`): the fields `init(_:)` reads and
    /// the store's name, namespace and resourceVersion. A pod as the API serves it (containers,
    /// volumes, conditions, managed fields) is several KB; this is a few hundred bytes.
    /// Of `spec.containers` only each container's `ports` stay (the named ports).
    public static func kept(_ object: JSONValue) -> JSONValue {
        let slim = JSONValue.kept(
            object,
            [
                "metadata": ["name", "namespace", "labels", "resourceVersion"],
                "spec": ["nodeName", "serviceAccountName", "hostNetwork"],
                "status": ["phase", "podIP", "podIPs", "hostIP"],
            ])
        guard case .array(let containers)? = object["spec"]?["containers"],
            case .object(var members) = slim,
            let specIndex = members.firstIndex(where: { $0.0 == "spec" }),
            case .object(var spec) = members[specIndex].1
        else { return slim }
        let ports: [JSONValue] = containers.compactMap { container in
            guard case .array(let items)? = container["ports"], !items.isEmpty else { return nil }
            return .object([("ports", .array(items))])
        }
        guard !ports.isEmpty else { return slim }
        spec.append(("containers", .array(ports)))
        members[specIndex].1 = .object(spec)
        return .object(members)
    }

    /// Whether the pod's addresses carry its identity: it has an address of its own and is not
    /// finished (a finished pod's address may be handed to another).
    public var hasOwnAddress: Bool {
        !hostNetwork && !ipv4.isEmpty && phase != "Succeeded" && phase != "Failed"
    }
}
