import CSluiceShared
import Glibc
import KubeClient
import Policy
import SluiceAPI
import SluiceModel

/// The agent's Kubernetes side: starting the API source, reconciling the policy in force with
/// it (on the source's reconcile thread, under the control lock), and what `sluice status` says
/// about it. See `KubePolicySync` for the policy semantics and docs/policy.md, "Policies from
/// the Kubernetes API".
extension Agent {
    /// How often (seconds) a reconcile runs without an event with `--endpoints-from=kubernetes`,
    /// so a new address of the node becomes host within that time.
    static let nodeAddressInterval: Double = 10

    /// Loads the API configuration `options.kubernetes` names and starts watching
    /// (`prepareKubernetes`, then the informers).
    func startKubernetes(backoff: Backoff = Backoff()) throws {
        if kube == nil { try prepareKubernetes(backoff: backoff) }
        kube?.start()
    }

    /// Loads the API configuration `options.kubernetes` names and makes the source, without
    /// starting it: `run` calls it first, so an unreadable kubeconfig or service account stops
    /// the start before anything is touched. An unreachable server never stops it: the
    /// informers retry with backoff and the policies in force stay meanwhile.
    func prepareKubernetes(backoff: Backoff = Backoff()) throws {
        guard let source = options.kubernetes else { return }
        kubeSync.stateDirectory = options.stateDirectory
        let config: KubeConfig
        do {
            config = try source.load { getenv($0).map { String(cString: $0) } }
        } catch {
            throw AgentStartError(message: "Kubernetes API (\(source.description)): \(error)")
        }
        let kube: KubeSource
        do {
            kube = try KubeSource(source: source, config: config, nodeName: options.nodeName, backoff: backoff) {
                [unowned self] snapshot in
                self.reconcileKubernetes(snapshot)
            }
            if let factory = options.clusterIdentities { identityProvider = try factory(kube.client) }
        } catch {
            throw AgentStartError(message: "Kubernetes API (\(source.description)): \(error)")
        }
        // The node's addresses are re-read on each reconcile; this bounds how late a new one is seen.
        if options.endpointsFrom == .kubernetes { kube.periodicInterval = Self.nodeAddressInterval }
        self.kube = kube
    }

    /// With the API as a source: the state it gave last, from `STATE/kubernetes.json`, so an
    /// agent restarted while the API server is away keeps enforcing it (before the first install;
    /// the first complete list replaces it).
    func restoreKubernetesCache() {
        guard options.kubernetes != nil else { return }
        kubeSync.stateDirectory = options.stateDirectory
        var local = fileEndpoints
        if options.endpointsFrom == .kubernetes {
            // No file: the cached local endpoints themselves (`restoreLocalPods` finds their interfaces).
            local = KubeStateCache.load(stateDirectory: options.stateDirectory).cache?.local ?? []
        }
        kubeSync.restoreCache(into: policy, fileEndpoints: local)
    }

    /// Makes the policy in force match the API's complete state: nothing changes until all three
    /// policy kinds are listed; namespaces and pods count once they are listed. Returns false when
    /// it must run again (identities could not be numbered).
    func reconcileKubernetes(_ state: KubeSource.Snapshot) -> Bool {
        guard state.policiesSynced else { return true }
        var local = fileEndpoints
        var localChanges = LocalEndpointTable.Changes()
        var hostIPv4: [UInt32]?
        if options.endpointsFrom == .kubernetes {
            if state.workloadsSynced { localChanges = discoverLocalPods(state.workloads) }
            local = localPods.descriptors
            hostIPv4 = discoverNodeAddresses(state.workloadsSynced ? state.workloads : nil)
        }
        let endpoints =
            state.workloadsSynced
            ? KubeEndpoints.resolve(local: local, workloads: state.workloads, nodeName: options.nodeName)
            : (local: local, remote: [])
        // Cluster-wide numbers first, without the lock (this may wait on the API).
        var numbers: [[String]: UInt32]?
        if let provider = identityProvider {
            let sets = (endpoints.local + endpoints.remote).map { $0.identityLabels.map(\.description) }
            do {
                numbers = try provider.identities(for: sets)
            } catch {
                lock.lock()
                identityError = "\(error)"
                lock.unlock()
                return false
            }
        }
        lock.lock()
        defer { lock.unlock() }
        var renumbered = false
        if let numbers {
            identityError = nil
            renumbered = policy.adoptIdentities(numbers)
        }
        let before = localIdentities()
        // The node's addresses changed: installed with the next transaction (put back if it fails).
        let previousHost = policy.hostIPv4
        let hostChanged = hostIPv4 != nil && hostIPv4 != previousHost
        if hostChanged, let hostIPv4 { setHostIPv4(hostIPv4) }
        let installed = kubeSync.reconcile(
            state.policies, endpoints: endpoints.local, remote: endpoints.remote, policy: policy,
            force: renumbered || hostChanged)
        if hostChanged && !installed { setHostIPv4(previousHost) }
        guard installed else {
            return options.endpointsFrom == .kubernetes ? attachLocalPods() && localPods.waiting.isEmpty : true
        }
        if localIdentities() != before || !localChanges.isEmpty { syncEndpointMap() }
        let attached = options.endpointsFrom == .kubernetes ? attachLocalPods() : true
        do {
            try policy.writeEndpointDirectory(nodeName: options.nodeName)
        } catch {
            kube?.note("the endpoint directory for `sluice observe` was not written: \(error)")
        }
        return attached && localPods.waiting.isEmpty
    }

    /// Each local endpoint's identity in the policy in force, by endpoint ID.
    private func localIdentities() -> [UInt32: UInt32] {
        var out: [UInt32: UInt32] = [:]
        for endpoint in policy.endpoints { out[endpoint.id] = policy.snapshot.identity(ofIPv4: endpoint.ipv4) }
        return out
    }

    /// Writes the endpoints' identities of the policy in force into `sluice_endpoints` (an
    /// endpoint's identity changes when the API gives its namespace or pod other labels).
    func syncEndpointMap() {
        guard let datapath else { return }
        var info: [UInt32: sluice_endpoint_info] = [:]
        for endpoint in policy.endpoints {
            info[endpoint.ipv4] = sluice_endpoint_info(
                id: endpoint.id, identity: policy.snapshot.identity(ofIPv4: endpoint.ipv4),
                ifindex: UInt32(ifindexes[endpoint.id] ?? 0), flags: 0)
        }
        do {
            try datapath.syncEndpoints(info)
        } catch {
            kube?.note("writing the endpoints' identities: \(error)")
        }
    }

    /// The refusal `sluice apply`/`delete` answer for objects the API sets; nil when none is.
    func refuseKubernetesOwned(_ keys: [PolicyKey], fileName: String) -> String? {
        guard kube != nil else { return nil }
        let owned = keys.filter { kubeSync.owns($0) }
        guard !owned.isEmpty else { return nil }
        return "\(fileName): not applied, the policy in force is unchanged: "
            + owned.map { "\($0.kind.resourceName) \"\($0.namespace.isEmpty ? "" : $0.namespace + "/")\($0.name)\"" }
            .joined(separator: ", ")
            + " is set by the Kubernetes API; change it there (kubectl)"
    }

    /// The API source's part of `sluice status`: connection, kinds, identities, and every
    /// object that is not in force with its error; nil without a source.
    func kubernetesStatusValue() -> KubernetesStatus? {
        guard var status = kube?.status() else { return nil }
        status.identities =
            (identityProvider == nil ? "per node" : "cluster-wide")
            + (identityError.map { " (last error: \($0))" } ?? "")
        status.policiesInForce = kubeSync.applied.count
        status.errors = kubeSync.errors.map { KubernetesStatus.ObjectError(key: $0.key, error: $0.error) }
        status.atStart = kubeSync.cacheNote
        if options.endpointsFrom == .kubernetes {
            status.nodeAddresses = policy.hostIPv4.map { IPv4Address(networkOrder: $0).description }
        }
        return status
    }

    /// `kubernetesStatusValue` as lines after the `status` operation's answer ("" without one).
    func kubernetesStatus() -> String {
        guard let status = kubernetesStatusValue() else { return "" }
        return "\n" + status.lines.joined(separator: "\n")
    }
}

extension Agent {
    /// Stops watching the API (tests; the agent itself runs until killed).
    func stopKubernetes() { kube?.stop() }
}
