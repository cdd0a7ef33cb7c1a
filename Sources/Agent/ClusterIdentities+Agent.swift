import Glibc
import KubeClient
import SluiceSync

/// `KubeClient.ClusterIdentities` is the agent's cluster-wide identity provider: its
/// `identities(for:)` numbers exactly the label sets the agent asks for and releases the rest
/// (docs/architecture.md, "Cluster-wide identities").
extension ClusterIdentities: ClusterIdentityProvider {}

extension ClusterIdentities {
    /// The factory `sluice-agent` plugs in with the Kubernetes API: an allocator stamped with
    /// `nodeName`, started at once (it does not wait for its first list: a set it does not know
    /// yet is allocated through the API, and while the API is away the agent retries). Its log
    /// lines go to stdout, each distinct line once in a row.
    public static func agentFactory(nodeName: String, options: Options = Options()) -> ClusterIdentityFactory {
        { client in
            let last = LastLine()
            let identities = ClusterIdentities(client: client, nodeName: nodeName, options: options) { line in
                if last.swap(line) { print("cluster identities: \(line)") }
            }
            identities.start()
            return identities
        }
    }
}

extension Agent.Options {
    /// With the Kubernetes API and no provider given, `ClusterIdentities` numbers identities
    /// (what `sluice-agent` does); without the API, nothing changes.
    public mutating func useClusterIdentitiesWithKubernetes() {
        if kubernetes != nil && clusterIdentities == nil {
            clusterIdentities = ClusterIdentities.agentFactory(nodeName: nodeName)
        }
    }
}

/// The last line logged, so a repeated failure is printed once.
private final class LastLine: @unchecked Sendable {
    private let lock = Lock()
    private var line = ""
    /// Stores `text`; whether it differs from the previous one.
    func swap(_ text: String) -> Bool {
        lock.withLock {
            if text == line { return false }
            line = text
            return true
        }
    }
}
