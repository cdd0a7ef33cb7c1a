import ArgumentParser
import Datapath
import Foundation
import Sandbox
import SluiceAPI
import SluiceIO

struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "A Kubernetes-like node on this machine: pods as network namespaces, real servers, the Sluice agent.",
        subcommands: [Up.self, Down.self, Exec.self, Status.self, StopAgent.self, StartAgent.self])

    /// The agent options `up` and `start-agent` both pass on.
    struct AgentArguments: ParsableArguments {
        @Option(help: "Agent worker threads (default: one per core).")
        var workers: Int?
        @Option(help: "The agent's answer to egress policy denies: none or icmp (see `sluice agent --help`).")
        var policyDenyResponse: String?
        @Option(
            help:
                "Any other `sluice agent` option, passed as it is (repeatable): --agent-arg=--http2-max-concurrent-streams=10"
        )
        var agentArg: [String] = []

        /// The agent's arguments: these options, then `extra`, then the passed-through ones.
        func arguments(_ extra: [String] = []) -> [String] {
            var out: [String] = []
            if let workers { out += ["--workers", String(workers)] }
            if let policyDenyResponse { out += ["--policy-deny-response", policyDenyResponse] }
            return out + extra + agentArg
        }
    }

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the node from a topology file and start the agent in the background.")
        @Argument(help: "Topology YAML (namespaces, pods with labels and servers).")
        var file: String
        @OptionGroup var agent: AgentArguments
        @Option(help: "Pin agent worker i to CPU (N + i) mod cores.")
        var pinCpu: Int?
        @Flag(help: "Start the agent without flow recording (benchmarks only).")
        var noFlows = false
        @Flag(help: "Do not start sluice-observer (Hubble's gRPC, metrics and page on the node address).")
        var noObserver = false
        @Option(
            help:
                "With `nodes:`: the directory holding the fake API server (fakeapi/server.py, sandbox_kube.py); default integration/kube of the repository (SLUICE_HOME or above the executable)."
        )
        var fakeAPI: String?
        @Option(
            help:
                "With `nodes:`: the Python that runs the fake API server (default .venv/bin/python of the repository).")
        var python: String?

        func run() throws {
            var extra: [String] = []
            if let pinCpu { extra += ["--pin-cpu", String(pinCpu)] }
            if noFlows { extra.append("--no-flows") }
            let root = Paths.repoRoot
            let kube = SandboxLifecycle.KubeOptions(
                fakeAPI: fakeAPI ?? root + "/integration/kube", python: python ?? root + "/.venv/bin/python")
            let state = try SandboxLifecycle.up(
                topologyPath: file, agentArguments: agent.arguments(extra), observer: !noObserver, kube: kube)
            print(
                "sandbox up: node \(state.nodeNetns) (\(state.nodeIP)), \(state.endpoints.count) pods, DNS \(state.dnsIP)"
            )
            for node in state.nodes ?? [] {
                print(
                    "  node \(node.name)\t\(node.netns)\t\(node.ip)\tpods \(node.podCIDR)\tsocket \(node.controlSocket)"
                )
            }
            if let api = state.kubeAPI { print("  kubeconfig \(api.kubeconfig)") }
            for e in state.endpoints {
                print("  \(e.namespace)/\(e.pod)\t\(e.ipv4)" + (e.node.map { "\t\($0)" } ?? ""))
            }
        }
    }

    struct Down: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the agent and servers and remove every namespace, pin and file the sandbox made.")
        func run() throws {
            try SandboxLifecycle.down()
            print("sandbox down")
        }
    }

    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a command inside a pod, like kubectl exec: sluice sandbox exec NS/POD -- CMD...")
        @Argument(
            help: "The pod: NAMESPACE/POD, or POD in namespace default; world/NAME for a world host, node for the node."
        )
        var target: String
        @Argument(parsing: .captureForPassthrough, help: "The command and its arguments.")
        var command: [String] = []

        func run() throws {
            let manager = SandboxManager(stateDirectory: Paths.sandboxState)
            guard let state = try manager.state() else {
                throw ValidationError("no sandbox is up (run `sluice sandbox up FILE`)")
            }
            var cmd = command
            if cmd.first == "--" { cmd.removeFirst() }
            let argv = try SandboxManager.execArguments(state: state, target: target, command: cmd)
            try SandboxLifecycle.exec(argv)
        }
    }

    struct StopAgent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stop-agent",
            abstract: "Stop the agent only (pods, servers and BPF pins stay: L7 ports fail closed).")
        func run() throws {
            try SandboxLifecycle.stopAgent()
        }
    }

    struct StartAgent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start-agent",
            abstract: "Start the agent again for the running sandbox (it restores its policies and state).")
        @OptionGroup var agent: AgentArguments
        func run() throws {
            try SandboxLifecycle.startAgent(arguments: agent.arguments())
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the sandbox's pods and the agent's L7 ports.")
        func run() throws {
            let manager = SandboxManager(stateDirectory: Paths.sandboxState)
            guard let state = try manager.state() else {
                print("no sandbox")
                throw ExitCode(1)
            }
            for e in state.endpoints { print("\(e.namespace)/\(e.pod)\t\(e.ipv4)\tendpoint \(e.id)") }
            let response = try ControlClient.send(ControlRequest(op: .status), path: Paths.controlSocket)
            print(response.message)
        }
    }
}

/// Bringing the sandbox and its agent up and down (shared by `sandbox` and `demo`).
enum SandboxLifecycle {
    /// Where a multi-node sandbox finds the fake API server and the Python to run it.
    struct KubeOptions {
        var fakeAPI: String
        var python: String

        static var defaults: KubeOptions {
            KubeOptions(fakeAPI: Paths.repoRoot + "/integration/kube", python: Paths.repoRoot + "/.venv/bin/python")
        }
    }

    static func up(
        topologyPath: String, agentArguments: [String] = [], observer: Bool = true, kube: KubeOptions = .defaults
    ) throws -> SandboxState {
        guard getuid() == 0 else { throw ValidationError("the sandbox needs root (network namespaces, BPF)") }
        let topology = try Topology.load(path: topologyPath)
        let root = Paths.repoRoot
        try down()
        let manager = SandboxManager(stateDirectory: Paths.sandboxState)
        var state = try manager.up(topology: topology, venv: root + "/.venv", repoRoot: root)
        do {
            if let nodes = state.nodes {
                try manager.startKubeAPI(python: kube.python, fakeAPI: kube.fakeAPI, repoRoot: root, state: &state)
                for index in nodes.indices {
                    let pid = try startAgent(state: state, node: nodes[index], arguments: agentArguments)
                    state.nodes?[index].agentPID = pid
                    if index == 0 { state.agentPID = pid }
                    try manager.save(state)
                }
                for node in state.nodes ?? [] {
                    try waitForAgent(pid: node.agentPID ?? 0, socket: node.controlSocket, log: agentLog(node))
                }
                if observer {
                    for node in state.nodes ?? [] { try startObserver(state: &state, node: node) }
                }
            } else {
                state.agentPID = try startAgent(state: state, arguments: agentArguments)
                try manager.save(state)
                try waitForAgent(pid: state.agentPID ?? 0)
                if observer { try startObserver(state: &state) }
            }
        } catch {
            try? down()
            throw error
        }
        return state
    }

    static func down() throws {
        let manager = SandboxManager(stateDirectory: Paths.sandboxState)
        let recorded = try? manager.state()
        if let state = recorded, let pid = state.agentPID, pid > 0 {
            stopProcess(pid)
        }
        for node in recorded?.nodes ?? [] {
            if let pid = node.agentPID, pid > 0 { stopProcess(pid) }
        }
        try manager.down()
        try? Datapath.unpinAll(pinDirectory: Paths.pinDirectory)
        try? FileManager.default.removeItem(atPath: Paths.agentState)
        unlink(Paths.controlSocket)
        // The other nodes' pins, sockets and state (also after a crash: their names are the
        // directories under /run/sluice/nodes).
        var names = Set((recorded?.nodes ?? []).dropFirst().map(\.name))
        let nodesDirectory = SandboxNodePaths.nodesDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: nodesDirectory)) ?? [] { names.insert(name) }
        for name in names.sorted() {
            let paths = SandboxNodePaths(name: name, first: false)
            try? Datapath.unpinAll(pinDirectory: paths.pinDirectory)
            rmdir(paths.pinDirectory)
        }
        try? FileManager.default.removeItem(atPath: nodesDirectory)
    }

    /// Stops the agent of the running sandbox (by its recorded PID) and forgets the PID.
    static func stopAgent() throws {
        let manager = SandboxManager(stateDirectory: Paths.sandboxState)
        guard var state = try manager.state() else { throw ValidationError("no sandbox is up") }
        if let pid = state.agentPID, pid > 0 { stopProcess(pid) }
        state.agentPID = nil
        try manager.save(state)
    }

    /// Starts the agent for the running sandbox and waits until it answers.
    static func startAgent(arguments: [String]) throws {
        let manager = SandboxManager(stateDirectory: Paths.sandboxState)
        guard var state = try manager.state() else { throw ValidationError("no sandbox is up") }
        if let pid = state.agentPID, pid > 0, kill(pid, 0) == 0 { throw ValidationError("the agent runs (pid \(pid))") }
        state.agentPID = try startAgent(state: state, arguments: arguments)
        try manager.save(state)
        try waitForAgent(pid: state.agentPID ?? 0)
    }

    private static var agentLog: String { Paths.sandboxState + "/logs/agent.log" }

    /// The first node logs to `agent.log` (as the single node), the others to `agent-NAME.log`.
    static func agentLog(_ node: SandboxState.Node) -> String {
        node.pinDirectory == Paths.pinDirectory ? agentLog : Paths.sandboxState + "/logs/agent-\(node.name).log"
    }

    /// Starts node `node`'s agent: its namespace, endpoint file, pins, socket, state, name and
    /// the nodes' kubeconfig.
    private static func startAgent(state: SandboxState, node: SandboxState.Node, arguments: [String]) throws -> Int32 {
        var kube: [String] = []
        if let api = state.kubeAPI { kube = ["--k8s-kubeconfig", api.nodeKubeconfig] }
        return try startAgent(
            arguments: [
                "--netns", node.netns, "--endpoints", node.endpointsFile, "--state-dir", node.stateDirectory,
                "--socket", node.controlSocket, "--pin-dir", node.pinDirectory, "--node-name", node.name,
            ] + kube + arguments, log: agentLog(node))
    }

    /// Starts `sluice-observer` (beside this binary) for the sandbox, after the agent pinned the
    /// flow ring, on the node's address; `down` stops it with the servers. `node`: a node of a
    /// multi-node sandbox (its namespace, address, pins, state and name); nil: the single node.
    static func startObserver(state: inout SandboxState, node: SandboxState.Node? = nil) throws {
        let path = Files.directory(of: Paths.executable) + "/sluice-observer"
        guard Files.exists(path) else {
            throw ValidationError(
                "\(path) not found (`make build` builds it beside sluice; or `sandbox up --no-observer`)")
        }
        let extra = node.map {
            ["--pin-dir", $0.pinDirectory, "--state-dir", $0.stateDirectory, "--node-name", $0.name]
        }
        try SandboxManager(stateDirectory: Paths.sandboxState).startObserver(
            executable: path, state: &state, netns: node?.netns, nodeIP: node?.ip, name: node?.name, extra: extra ?? [])
    }

    /// Starts `sluice-agent` in its own session, logging to the sandbox's log directory.
    private static func startAgent(state: SandboxState, arguments: [String]) throws -> Int32 {
        try startAgent(
            arguments: [
                "--netns", state.nodeNetns,
                "--endpoints", Paths.sandboxState + "/state.json",
                "--state-dir", Paths.agentState, "--socket", Paths.controlSocket,
            ] + arguments, log: agentLog)
    }

    private static func startAgent(arguments: [String], log agentLog: String) throws -> Int32 {
        if !FileManager.default.fileExists(atPath: agentLog) {
            FileManager.default.createFile(atPath: agentLog, contents: nil)
        }
        guard let log = FileHandle(forWritingAtPath: agentLog) else {
            throw ValidationError("cannot write \(agentLog)")
        }
        log.seekToEndOfFile()
        let process = Process()
        // Foundation starts the child in a session of its own, so it outlives this command and
        // its PID is the agent's (a `setsid` wrapper would fork and record the wrong PID).
        process.executableURL = URL(fileURLWithPath: AgentCommand.executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process.processIdentifier
    }

    /// Waits until the agent answers on its control socket (it has attached the datapath and
    /// started the proxy by then); fails with its log if it exits or does not answer in 30 s.
    private static func waitForAgent(
        pid: Int32, socket: String = Paths.controlSocket, log: String = agentLog
    ) throws {
        let deadlineNs = SystemClock.monotonicNs() + 30_000_000_000
        while SystemClock.monotonicNs() < deadlineNs {
            if kill(pid, 0) != 0 {
                throw ValidationError("the agent exited during start-up:\n" + logTail(log))
            }
            if let r = try? ControlClient.send(ControlRequest(op: .status), path: socket), r.ok {
                return
            }
            usleep(100_000)
        }
        throw ValidationError("the agent did not answer within 30 s:\n" + logTail(log))
    }

    private static func logTail(_ agentLog: String = agentLog) -> String {
        let text = (try? String(contentsOfFile: agentLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(20).joined(separator: "\n")
    }

    /// SIGTERM, then SIGKILL after 2 s; only the PID we recorded.
    /// A zombie counts as stopped: its sockets are closed, and the agent, started in its own
    /// session, is reaped by PID 1 whenever that gets to it (seen: over a second here).
    static func stopProcess(_ pid: Int32) {
        guard kill(pid, SIGTERM) == 0 else { return }
        for _ in 0..<400 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return }
            if kill(pid, 0) != 0 || isZombie(pid) { return }
            usleep(5_000)
        }
        kill(pid, SIGKILL)
    }

    /// Whether /proc says `pid` has exited and waits to be reaped (state Z or X).
    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state == "Z" || state == "X"
    }

    /// Replaces this process with argv (so exit code and output pass through).
    static func exec(_ argv: [String]) throws -> Never {
        var cargs = argv.map { strdup($0) }
        cargs.append(nil)
        execv(argv[0], cargs)
        throw ValidationError("exec \(argv[0]): \(String(cString: strerror(errno)))")
    }
}

/// `sluice apply` and `sluice delete` in a multi-node sandbox (issue 18): the agents learn
/// policies from the sandbox's API server, so the objects go there (as with kubectl), through
/// `sandbox_kube.py apply|delete`, and reach every node by its agent's watch. The file is parsed
/// first (a YAML error changes nothing); the agents validate the objects and report the ones
/// they refuse in `sluice status`.
enum SandboxKubeAPI {
    /// The running sandbox's API server, or nil (no sandbox, or a single node).
    static func current() -> SandboxState.KubeAPI? {
        guard let state = try? SandboxManager(stateDirectory: Paths.sandboxState).state() else { return nil }
        return state.kubeAPI
    }

    /// Runs `sandbox_kube.py VERB --dir DIR --file FILE`, its output passed through; exits
    /// with its status (0 on success), never returns.
    static func run(_ api: SandboxState.KubeAPI, verb: String, file: String, extra: [String] = []) throws -> Never {
        guard !api.client.isEmpty else { throw ValidationError("the sandbox's API server has no client recorded") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: api.client[0])
        process.arguments = Array(api.client.dropFirst()) + [verb, "--dir", api.directory, "--file", file] + extra
        try process.run()
        process.waitUntilExit()
        throw ExitCode(process.terminationStatus)
    }
}
