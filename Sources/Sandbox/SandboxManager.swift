import Foundation
import SluiceAPI
import SluiceIO

/// Builds, records and removes the sandbox: a node network namespace, one namespace per pod
/// joined to it by a veth, a DNS pod (dnsmasq) and the pods' servers.
///
/// Not thread-safe; one manager per command. Every step runs an external command (`ip`,
/// `sysctl`, the servers), so the caller must be root. What `up` makes is recorded in
/// `<stateDirectory>/state.json`; `down` removes everything, also after a crash without a state
/// file (every namespace named `sluice-*`).
public final class SandboxManager {
    /// Where the sandbox keeps `state.json`, `logs/` and `dns/`.
    public let stateDirectory: String
    /// `ip netns exec` bind-mounts `<netnsConfigDirectory>/<netns>/resolv.conf` over
    /// `/etc/resolv.conf`.
    let netnsConfigDirectory = "/etc/netns"
    /// Where `ip netns add` creates its mount points.
    let netnsRunDirectory = "/run/netns"
    /// The marker a recorded agent's command line must contain before `down` signals it.
    static let agentMarker = "sluice"

    /// Where `up` writes the hosts' certificates as the agent's secrets (`SandboxTLS`).
    public let secretsDirectory: String

    /// - Parameters:
    ///   - stateDirectory: default `/run/sluice/sandbox`.
    ///   - secretsDirectory: the agent's secrets directory, default `/run/sluice/secrets`.
    public init(
        stateDirectory: String = "/run/sluice/sandbox",
        secretsDirectory: String = SandboxTLS.defaultSecretsDirectory
    ) {
        self.stateDirectory = stateDirectory
        self.secretsDirectory = secretsDirectory
    }

    var stateFile: String { stateDirectory + "/state.json" }
    /// The CA (`ca.crt`, `ca.key`) and the servers' own copies of their certificates.
    public var tlsDirectory: String { stateDirectory + "/tls" }
    var logDirectory: String { stateDirectory + "/logs" }
    var dnsHostsFile: String { stateDirectory + "/dns/hosts" }

    /// Builds the sandbox for `topology` (first removing any leftovers with `down()`), makes
    /// the sandbox CA and the TLS servers' certificates (`SandboxTLS`), starts
    /// the DNS pod and every server, waits until each accepts connections and records the state.
    /// On failure midway it removes what it made and rethrows.
    /// - Parameters:
    ///   - venv: the Python venv holding httpbin and gunicorn (`<repo>/.venv`).
    ///   - repoRoot: the repository root (for `integration/servers/`).
    public func up(topology: Topology, venv: String, repoRoot: String) throws(SandboxError) -> SandboxState {
        try down()
        let plan = try SandboxPlan(topology: topology)
        var state = plan.initialState(stateDirectory: stateDirectory)
        do throws(SandboxError) {
            try build(plan: plan, state: &state, launcher: ServerLauncher(venv: venv, repoRoot: repoRoot))
        } catch {
            do throws(SandboxError) {
                try down()
            } catch let cleanup {
                throw SandboxError.teardown(original: error, cleanup: cleanup)
            }
            throw error
        }
        return state
    }

    private func build(
        plan: SandboxPlan, state: inout SandboxState,
        launcher: ServerLauncher
    ) throws(SandboxError) {
        for directory in [stateDirectory, logDirectory, stateDirectory + "/dns"] {
            try createDirectory(directory)
        }
        try save(state)
        let nodes = state.nodes ?? []
        if let first = nodes.first {
            try createDirectory(stateDirectory + "/nodes")
            for node in nodes { try buildNode(dnsIP: state.dnsIP, netns: node.netns, address: node.ip) }
            for other in nodes.dropFirst() { try linkNodes(first: first, other: other) }
        } else {
            try buildNode(dnsIP: state.dnsIP)
        }
        for index in state.endpoints.indices {
            let endpoint = state.endpoints[index]
            if let node = state.nodes?.first(where: { $0.name == endpoint.node }) {
                state.endpoints[index].hostIfIndex = try buildPod(
                    endpoint, dnsIP: state.dnsIP, node: node.netns, gateway: node.ip)
            } else {
                state.endpoints[index].hostIfIndex = try buildPod(endpoint, dnsIP: state.dnsIP)
            }
        }
        if !state.world.isEmpty {
            try buildWorld(state.world, dnsIP: state.dnsIP)
        }
        try save(state)
        let tls = SandboxTLS(plan: plan)
        try makeCertificates(tls)
        var pending: [(server: SandboxState.ServerProcess, netns: String, address: String)] = []
        try writeFile(dnsHostsFile, DNSConfig.hostsFile(endpoints: state.endpoints))
        if let dnsEndpoint = state.endpoints.first {
            let argv =
                [CommandRunner.locate("dnsmasq")]
                + DNSConfig.dnsmasqArguments(hostsFile: dnsHostsFile, listenAddress: state.dnsIP, world: state.world)
            let server = try start(
                argv: argv, marker: "dnsmasq", owner: dnsEndpoint, kind: "dns", port: 53,
                launcher: launcher, state: &state)
            pending.append((server, dnsEndpoint.netns, state.dnsIP))
        }
        for planned in plan.endpoints {
            for spec in planned.servers {
                let owner = "\(planned.endpoint.namespace)/\(planned.endpoint.pod)"
                let (argv, marker) = launcher.command(
                    kind: spec.kind, listen: ["0.0.0.0:\(spec.port)"], owner: owner,
                    tls: tlsFiles(tls.identity(owner: owner)))
                let server = try start(
                    argv: argv, marker: marker, owner: planned.endpoint, kind: spec.kind.rawValue,
                    port: Int(spec.port), launcher: launcher, state: &state)
                pending.append((server, planned.endpoint.netns, planned.endpoint.ipv4))
            }
        }
        for host in plan.world {
            for spec in host.servers {
                let owner = "world/\(host.name)"
                let listen = host.addresses.map { "\($0):\(spec.port)" }
                let (argv, marker) = launcher.command(
                    kind: spec.kind, listen: listen, owner: owner, tls: tlsFiles(tls.identity(owner: owner)))
                let server = try startWorld(
                    argv: argv, marker: marker, owner: owner, spec: spec,
                    launcher: launcher, state: &state)
                pending.append((server, SandboxNames.worldNetns, host.addresses.first?.description ?? ""))
            }
        }
        let deadlineNs = SystemClock.monotonicNs() + UInt64(ServerLauncher.readyTimeout * 1e9)
        for item in pending {
            try ServerLauncher.waitUntilAccepting(
                item.server, netns: item.netns, address: item.address,
                deadlineNs: deadlineNs)
        }
    }

    /// Starts one server in an endpoint's namespace and records it at once (so `down` finds it
    /// even if `up` dies right after).
    private func start(
        argv: [String], marker: String, owner endpoint: SandboxState.Endpoint, kind: String,
        port: Int, launcher: ServerLauncher,
        state: inout SandboxState
    ) throws(SandboxError) -> SandboxState.ServerProcess {
        let log = "\(logDirectory)/\(endpoint.namespace)_\(endpoint.pod)_\(kind)_\(port).log"
        let pid = try launcher.start(argv: argv, netns: endpoint.netns, logPath: log)
        let server = SandboxState.ServerProcess(
            owner: "\(endpoint.namespace)/\(endpoint.pod)", kind: kind,
            port: port, pid: pid, logPath: log, marker: marker)
        state.servers.append(server)
        try save(state)
        return server
    }

    private func startWorld(
        argv: [String], marker: String, owner: String, spec: ServerSpec,
        launcher: ServerLauncher,
        state: inout SandboxState
    ) throws(SandboxError) -> SandboxState.ServerProcess {
        let name = owner.replacingOccurrences(of: "/", with: "_")
        let log = "\(logDirectory)/\(name)_\(spec.kind.rawValue)_\(spec.port).log"
        let pid = try launcher.start(argv: argv, netns: SandboxNames.worldNetns, logPath: log)
        let server = SandboxState.ServerProcess(
            owner: owner, kind: spec.kind.rawValue, port: Int(spec.port),
            pid: pid, logPath: log, marker: marker)
        state.servers.append(server)
        try save(state)
        return server
    }

    /// The argv that runs `command` inside `target`: a pod (`NAMESPACE/POD`, or `POD` in
    /// namespace `default`), a world host (`world/NAME`: the world namespace, which holds every
    /// world address; pass `--interface ADDRESS` to a client to send from that host's own) or the
    /// node (`node`: where the agent runs, a client there is the host identity; `node/NAME` a node
    /// of a multi-node sandbox). Pods win over
    /// the other two names. `ip netns exec <netns> COMMAND...`; the CLI `exec`s it, so exit code
    /// and output pass through. An empty command runs `bash`.
    public static func execArguments(
        state: SandboxState, target: String,
        command: [String]
    ) throws(SandboxError) -> [String] {
        guard let netns = namespace(of: target, in: state) else { throw SandboxError.unknownTarget(target) }
        return [CommandRunner.locate("ip"), "netns", "exec", netns] + (command.isEmpty ? ["bash"] : command)
    }

    /// The network namespace of an `exec` target, or nil.
    static func namespace(of target: String, in state: SandboxState) -> String? {
        if let endpoint = state.endpoint(target: target) { return endpoint.netns }
        if target == "node" { return state.nodeNetns }
        if target.hasPrefix("node/"), let node = state.node(named: String(target.dropFirst(5))) { return node.netns }
        if target.hasPrefix("world/"), let world = state.worldNetns,
            state.world.contains(where: { "world/" + $0.name == target })
        {
            return world
        }
        return nil
    }
}
