import KubeClient

/// Where the agent finds the Kubernetes API (`--k8s-kubeconfig`, `--k8s-in-cluster`).
public enum KubernetesSource: Equatable, Sendable {
    /// A kubeconfig file (its current context's server, CA and token).
    case kubeconfig(String)
    /// The in-cluster service account: `KUBERNETES_SERVICE_HOST`/`_PORT` and
    /// /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}.
    case inCluster

    /// Reads the configuration it names; the error says which file or variable is missing.
    func load(environment: (String) -> String?) throws(KubeError) -> KubeConfig {
        switch self {
        case .kubeconfig(let path):
            return try KubeConfig.load(path: path)
        case .inCluster:
            var variables: [String: String] = [:]
            for name in ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"] {
                if let value = environment(name) { variables[name] = value }
            }
            return try KubeConfig.inCluster(environment: variables)
        }
    }

    /// How `sluice status` names it.
    var description: String {
        switch self {
        case .kubeconfig(let path): return "kubeconfig " + path
        case .inCluster: return "in-cluster"
        }
    }
}
