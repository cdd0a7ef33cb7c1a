import SluiceAPI

/// The sandbox's DNS: the dnsmasq hosts file and command line for the kube-dns pod, and the
/// `resolv.conf` each pod resolves through. Pure text builders.
///
/// dnsmasq answers `POD.NS.svc.cluster.local`, `POD.NS.svc` and `POD.NS` with the pod's address,
/// world names with theirs, NXDOMAIN for any other name under `cluster.local` and REFUSED for the
/// rest: it has no upstream, so nothing is forwarded out of the sandbox.
public enum DNSConfig {
    /// The cluster domain, as in Kubernetes.
    public static let clusterDomain = "cluster.local"
    /// TTL of answers for pod names (CoreDNS's default in Kubernetes).
    public static let podTTL: UInt32 = 30
    /// `ndots` of the pods' resolver, as the kubelet writes it.
    public static let ndots = 5

    /// The names a pod answers to, longest first.
    public static func names(namespace: String, pod: String) -> [String] {
        ["\(pod).\(namespace).svc.\(clusterDomain)", "\(pod).\(namespace).svc", "\(pod).\(namespace)"]
    }

    /// An `/etc/hosts`-style file for dnsmasq's `--addn-hosts`: one line per endpoint.
    public static func hostsFile(endpoints: [SandboxState.Endpoint]) -> String {
        var text = "# written by sluice sandbox: POD.NAMESPACE.svc.cluster.local for every pod\n"
        for endpoint in endpoints {
            text +=
                endpoint.ipv4 + " "
                + names(namespace: endpoint.namespace, pod: endpoint.pod)
                .joined(separator: " ") + "\n"
        }
        return text
    }

    /// The `resolv.conf` of a pod in `namespace` (bind-mounted by `ip netns exec` from
    /// `/etc/netns/<netns>/resolv.conf`), like the kubelet's for `ClusterFirst` pods.
    public static func resolvConf(namespace: String, nameserver: String) -> String {
        """
        nameserver \(nameserver)
        search \(namespace).svc.\(clusterDomain) svc.\(clusterDomain) \(clusterDomain)
        options ndots:\(ndots)

        """
    }

    /// dnsmasq's arguments (after the program path): foreground, no upstream, no system files,
    /// only `listenAddress` port 53, queries logged to stderr.
    public static func dnsmasqArguments(
        hostsFile: String, listenAddress: String,
        world: [SandboxState.WorldHost]
    ) -> [String] {
        var arguments = [
            "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
            "--addn-hosts=\(hostsFile)", "--listen-address=\(listenAddress)", "--bind-interfaces",
            "--port=53", "--pid-file=", "--user=root", "--local=/\(clusterDomain)/",
            "--local-ttl=\(podTTL)", "--log-queries", "--log-facility=-",
        ]
        for host in world {
            for address in host.addresses {
                arguments.append("--host-record=\(host.name),\(address),\(host.ttl)")
            }
        }
        return arguments
    }
}
