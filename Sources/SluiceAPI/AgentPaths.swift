/// Where the agent and the CLI meet when nothing else is said: the sandbox's paths, which
/// `sluice-agent` takes as its defaults and the CLI uses to reach it and read its files.
public enum AgentPaths {
    /// The sandbox's state (`SandboxState`), the agent's default `--endpoints`.
    public static let endpointsFile = "/run/sluice/sandbox/state.json"
    /// The agent's `--state-dir`: stored policies, identities, `endpoints.json`, `fqdn.json`.
    public static let stateDirectory = "/run/sluice/state"
    /// The control socket (`ControlClient`).
    public static let controlSocket = "/run/sluice/agent.sock"
    /// The bpffs directory of the pinned maps.
    public static let pinDirectory = "/sys/fs/bpf/sluice"
    /// The node's name in flows and `sluice status`.
    public static let nodeName = "sluice-node"
}
