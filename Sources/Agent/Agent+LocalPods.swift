import Datapath
import KubeClient
import Policy
import SluiceIO
import SluiceModel

/// Where the agent learns this node's endpoints (`--endpoints-from`).
public enum EndpointsSource: String, Sendable {
    /// The endpoints file (`--endpoints`, the sandbox's state): endpoints with their host-side
    /// interfaces as the sandbox or a CNI wrote them.
    case file
    /// The Kubernetes API: this node's pods (`LocalPod`), each with the interface its per-pod
    /// host route leaves by (`PodRoute`), as on a real cluster where the CNI made the veths.
    case kubernetes
}

/// The agent's local endpoints from the API (`--endpoints-from=kubernetes`), on the API
/// source's reconcile thread: the diff of the API's local pods against the endpoints made so
/// far (`LocalEndpointTable`), the removed ones detached before the install, the new ones
/// attached after it (policy maps before programs, as at start), and `sluice_endpoints` written
/// like the file path writes it.
extension Agent {
    /// Updates `localPods` from `workloads` (the informers' complete state) and detaches the
    /// endpoints that went away. Returns what changed. Reconcile thread; takes the control lock
    /// for what the control thread reads.
    func discoverLocalPods(_ workloads: KubeWorkloads.State) -> LocalEndpointTable.Changes {
        let desired = LocalPod.select(workloads, nodeName: options.nodeName)
        let lookup = podRouteLookup
        let changes = localPods.reconcile(desired: desired, nowNs: SystemClock.monotonicNs(), lookup: lookup)
        lock.lock()
        defer { lock.unlock() }
        for entry in changes.removed {
            if attachedEndpoints.remove(entry.id) != nil, let datapath {
                do {
                    try datapath.detachEndpoint(ifindex: entry.ifindex)
                    try datapath.detachToEndpoint(ifindex: entry.ifindex)
                } catch {
                    kube?.note("pod \(entry.pod.key): detaching from ifindex \(entry.ifindex): \(error)")
                }
            }
            ifindexes[entry.id] = nil
        }
        for entry in changes.added { ifindexes[entry.id] = entry.ifindex }
        for line in localPods.waitingLines { kube?.note("local pod " + line) }
        // Retried soon while a pod waits for its route (the table's own delays decide which).
        if let due = localPods.nextRetryNs {
            let now = SystemClock.monotonicNs()
            kube?.retryInterval = max(0.02, min(1, Double(due > now ? due - now : 0) / 1e9))
        } else {
            kube?.retryInterval = 1
        }
        return changes
    }

    /// Attaches the programs to each endpoint of the policy in force that has an interface and
    /// is not attached yet (after the install, so the maps hold its policy and its
    /// `sluice_endpoints` entry). Returns false when one failed (retried). Control lock held.
    func attachLocalPods() -> Bool {
        guard let datapath else { return true }
        var ok = true
        for endpoint in policy.endpoints where !attachedEndpoints.contains(endpoint.id) {
            guard let ifindex = ifindexes[endpoint.id], ifindex > 0 else { continue }
            do {
                try datapath.attachToEndpoint(ifindex: ifindex)
                try datapath.attachEndpoint(ifindex: ifindex)
                attachedEndpoints.insert(endpoint.id)
            } catch {
                ok = false
                kube?.note("pod \(endpoint.namespace)/\(endpoint.podName): attaching to ifindex \(ifindex): \(error)")
            }
        }
        return ok
    }

    /// At start, in the node's namespace, before the endpoints are written: the local endpoints
    /// the cache restored (`restoreKubernetesCache`) get their interfaces by route again and
    /// become the table's, so that an agent restarted while the API server is away keeps
    /// enforcing on them (and attaches to them) and the first list keeps them and their IDs. One
    /// without its route now is left to the first list.
    func restoreLocalPods() {
        guard options.endpointsFrom == .kubernetes else { return }
        var entries: [LocalEndpointTable.Entry] = []
        for e in policy.endpoints {
            guard case .podRoute(let ifindex) = podRouteLookup(e.ipv4) else { continue }
            ifindexes[e.id] = ifindex
            let pod = LocalPod(
                namespace: e.namespace, name: e.podName, ipv4: e.ipv4, labels: e.podLabels,
                serviceAccount: e.serviceAccount, namedPorts: e.namedPorts)
            entries.append(LocalEndpointTable.Entry(id: e.id, pod: pod, ifindex: ifindex))
        }
        localPods.restore(entries)
        // The node's own addresses before the first install (the API adds its pods' hostIP).
        policy.hostIPv4 = discoverNodeAddresses(nil)
    }

    /// The node's own addresses now (`NodeAddresses.choose`): the interfaces re-read (the last
    /// ones kept when the read fails), the endpoints file's `nodeIP`, and this node's pods'
    /// `status.hostIP` from `workloads`. Reconcile thread (or the start, before it runs).
    func discoverNodeAddresses(_ workloads: KubeWorkloads.State?) -> [UInt32] {
        switch interfaceAddressLookup() {
        case .success(let addresses): interfaceAddresses = addresses
        case .failure(let error): kube?.note("reading the node's addresses: \(error.message)")
        }
        var endpointIPs = Set(localPods.entries.values.map(\.pod.ipv4))
        for pod in workloads?.pods.values.map({ $0 }) ?? [] where pod.hasOwnAddress {
            for text in pod.ipv4 { if let ip = IPv4Address(text) { endpointIPs.insert(ip.networkOrder) } }
        }
        return NodeAddresses.choose(
            interfaces: interfaceAddresses, fixed: fileHostIPv4, workloads: workloads, nodeName: options.nodeName,
            endpointIPs: endpointIPs)
    }

    /// Makes `addresses` the node's (identity host) for the next install and the FQDN writer.
    /// Control lock held.
    func setHostIPv4(_ addresses: [UInt32]) {
        policy.hostIPv4 = addresses
        policy.fqdnWriter?.setHostIPv4(addresses)
    }

    /// The route lookup of a local pod's address (network order) in the agent's namespace.
    static func lookupPodRoute(_ ipv4: UInt32) -> PodRoute.Answer {
        PodRoute.lookup(IPv4Address(networkOrder: ipv4))
    }
}
