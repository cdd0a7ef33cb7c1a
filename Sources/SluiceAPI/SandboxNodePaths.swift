/// Where each node of a multi-node sandbox keeps its agent's files (issue 18). The first node
/// uses the agent's defaults (`AgentPaths`: pins `/sys/fs/bpf/sluice`, socket
/// `/run/sluice/agent.sock`, state `/run/sluice/state`), so every command that talks to "the
/// agent" talks to it; every other node `NAME` has its own:
///
/// - pins `/sys/fs/bpf/sluice-NAME`
/// - control socket `/run/sluice/nodes/NAME/agent.sock`
/// - state directory `/run/sluice/nodes/NAME/state`
///
/// `sluice observe --node NAME`, `sluice status --node NAME` and the sandbox use these.
public struct SandboxNodePaths: Equatable, Sendable {
    /// Parent of the other nodes' sockets and state directories.
    public static let nodesDirectory = "/run/sluice/nodes"

    public let pinDirectory: String
    public let controlSocket: String
    public let stateDirectory: String

    /// The paths of node `name`; `first` is true for the sandbox's first node (the defaults).
    public init(name: String, first: Bool) {
        if first {
            pinDirectory = AgentPaths.pinDirectory
            controlSocket = AgentPaths.controlSocket
            stateDirectory = AgentPaths.stateDirectory
        } else {
            pinDirectory = AgentPaths.pinDirectory + "-" + name
            controlSocket = Self.nodesDirectory + "/" + name + "/agent.sock"
            stateDirectory = Self.nodesDirectory + "/" + name + "/state"
        }
    }

    /// The paths of node `name` in a sandbox whose nodes are `nodeNames` (file order): `nil` for
    /// a name that is not one of them. An empty list is the single node, named by its netns or
    /// `AgentPaths.nodeName`.
    public static func lookup(_ name: String, nodeNames: [String]) -> SandboxNodePaths? {
        guard let index = nodeNames.firstIndex(of: name) else { return nil }
        return SandboxNodePaths(name: name, first: index == 0)
    }
}
