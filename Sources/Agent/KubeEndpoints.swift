import KubeClient
import Policy
import SluiceModel

/// The endpoints a reconcile compiles for, from the endpoints file and the API's namespaces and
/// pods (pure):
/// - this node's endpoints (from the endpoints file, as the sandbox or a CNI registers them)
///   take their namespace's labels from the API, and their pod's labels and service account
///   when the API has the pod, so that every node derives the same identity labels for them;
/// - pods of other nodes (`spec.nodeName` not this node) with their own IPv4 address become
///   remote endpoints: peers for selectors and ipcache entries, never policy subjects.
enum KubeEndpoints {
    static func resolve(
        local: [EndpointDescriptor], workloads: KubeWorkloads.State, nodeName: String
    ) -> (local: [EndpointDescriptor], remote: [EndpointDescriptor]) {
        let resolved = local.map { endpoint -> EndpointDescriptor in
            var e = endpoint
            if let labels = workloads.namespaces[e.namespace] { e.namespaceLabels = labels }
            if let pod = workloads.pods[e.namespace + "/" + e.podName] {
                e.podLabels = pod.labels
                e.serviceAccount = pod.serviceAccount
            }
            return e
        }
        let localAddresses = Set(local.map(\.ipv4))
        var remote: [EndpointDescriptor] = []
        for pod in workloads.pods.values where pod.nodeName != nodeName && pod.hasOwnAddress {
            for text in pod.ipv4 {
                guard let ip = IPv4Address(text)?.networkOrder, !localAddresses.contains(ip) else { continue }
                remote.append(
                    EndpointDescriptor(
                        id: 0, namespace: pod.namespace, podName: pod.name, podLabels: pod.labels,
                        namespaceLabels: workloads.namespaces[pod.namespace] ?? [:], ipv4: ip,
                        serviceAccount: pod.serviceAccount))
            }
        }
        // Sorted, so that an unchanged API gives an equal list (no needless install); one
        // address claimed by two pods (a stale one) goes to the first by namespace and name.
        remote.sort { ($0.ipv4, $0.namespace, $0.podName) < ($1.ipv4, $1.namespace, $1.podName) }
        var seen = Set<UInt32>()
        remote = remote.filter { seen.insert($0.ipv4).inserted }
        return (resolved, remote)
    }
}
