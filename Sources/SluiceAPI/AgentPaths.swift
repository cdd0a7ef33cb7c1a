import Glibc
import SluiceIO

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

    /// `SLUICE_HOME`, else the nearest directory above the executable holding Package.swift (the
    /// repository the binary was built in), else the working directory.
    public static func repositoryRoot(
        environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }
    ) -> String {
        if let home = environment("SLUICE_HOME"), !home.isEmpty { return home }
        if let exe = Files.executablePath() {
            var dir = Files.directory(of: exe)
            while dir != "/" && dir != "." {
                if Files.exists(dir + "/Package.swift") { return dir }
                dir = Files.directory(of: dir)
            }
        }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return getcwd(&buf, buf.count) != nil ? String(cString: buf) : "."
    }
}
