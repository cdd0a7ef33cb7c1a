import Policy
import SluiceIO
import SluiceJSON

/// The last state the agent installed from the Kubernetes API (`STATE/kubernetes.json`): the
/// API's policy documents in force and the endpoints they were compiled for (this node's with
/// the API's labels, and the pods of other nodes). Written after every install from the API;
/// read at start, before the first install, so that an agent restarted while the API server is
/// unreachable keeps enforcing what the API said last instead of only the `sluice apply`
/// policies. The API's own state replaces it at the first complete list.
struct KubeStateCache: Codable, Equatable {
    /// By watcher key (`ciliumnetworkpolicies/ns/name`).
    var policies: [String: PolicyNode]
    /// The endpoints as compiled.
    var local: [EndpointDescriptor]
    var remote: [EndpointDescriptor]

    static func path(stateDirectory: String) -> String { stateDirectory + "/kubernetes.json" }

    /// The cache in `stateDirectory`; nil when there is none or it cannot be read (the API is
    /// asked again anyway; the reason is returned for the status).
    static func load(stateDirectory: String) -> (cache: KubeStateCache?, error: String?) {
        let path = path(stateDirectory: stateDirectory)
        guard Files.exists(path) else { return (nil, nil) }
        do {
            return (try JSON.decode(KubeStateCache.self, from: Files.read(path)), nil)
        } catch {
            return (nil, "\(path) cannot be read (\(error)); waiting for the API")
        }
    }

    func save(stateDirectory: String) throws {
        try Files.writeAtomically(Self.path(stateDirectory: stateDirectory), JSON.encode(self, sortedKeys: true))
    }

    /// `file` (the endpoints file's) with the cached labels of the same endpoints (same ID,
    /// address, namespace and pod); others as the file gives them.
    func localEndpoints(_ file: [EndpointDescriptor]) -> [EndpointDescriptor] {
        file.map { e in
            local.first { $0.id == e.id && $0.ipv4 == e.ipv4 && $0.namespace == e.namespace && $0.podName == e.podName }
                ?? e
        }
    }
}
