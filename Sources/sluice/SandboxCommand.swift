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

        func run() throws {
            var extra: [String] = []
            if let pinCpu { extra += ["--pin-cpu", String(pinCpu)] }
            if noFlows { extra.append("--no-flows") }
            let state = try SandboxLifecycle.up(
                topologyPath: file, agentArguments: agent.arguments(extra), observer: !noObserver)
            print(
                "sandbox up: node \(state.nodeNetns) (\(state.nodeIP)), \(state.endpoints.count) pods, DNS \(state.dnsIP)"
            )
            for e in state.endpoints {
                print("  \(e.namespace)/\(e.pod)\t\(e.ipv4)")
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
    static func up(topologyPath: String, agentArguments: [String] = [], observer: Bool = true) throws -> SandboxState {
        guard getuid() == 0 else { throw ValidationError("the sandbox needs root (network namespaces, BPF)") }
        let topology = try Topology.load(path: topologyPath)
        let root = Paths.repoRoot
        try down()
        let manager = SandboxManager(stateDirectory: Paths.sandboxState)
        var state = try manager.up(topology: topology, venv: root + "/.venv", repoRoot: root)
        do {
            state.agentPID = try startAgent(state: state, arguments: agentArguments)
            try manager.save(state)
            try waitForAgent(pid: state.agentPID ?? 0)
            if observer { try startObserver(state: &state) }
        } catch {
            try? down()
            throw error
        }
        return state
    }

    static func down() throws {
        let manager = SandboxManager(stateDirectory: Paths.sandboxState)
        if let state = try? manager.state(), let pid = state.agentPID, pid > 0 {
            stopProcess(pid)
        }
        try manager.down()
        try? Datapath.unpinAll(pinDirectory: Paths.pinDirectory)
        try? FileManager.default.removeItem(atPath: Paths.agentState)
        unlink(Paths.controlSocket)
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

    /// Starts `sluice-observer` (beside this binary) for the sandbox, after the agent pinned the
    /// flow ring, on the node's address; `down` stops it with the servers.
    static func startObserver(state: inout SandboxState) throws {
        let path = Files.directory(of: Paths.executable) + "/sluice-observer"
        guard Files.exists(path) else {
            throw ValidationError(
                "\(path) not found (`make build` builds it beside sluice; or `sandbox up --no-observer`)")
        }
        try SandboxManager(stateDirectory: Paths.sandboxState).startObserver(executable: path, state: &state)
    }

    /// Starts `sluice-agent` in its own session, logging to the sandbox's log directory.
    private static func startAgent(state: SandboxState, arguments: [String]) throws -> Int32 {
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
        process.arguments =
            [
                "--netns", state.nodeNetns,
                "--endpoints", Paths.sandboxState + "/state.json",
                "--state-dir", Paths.agentState, "--socket", Paths.controlSocket,
            ] + arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process.processIdentifier
    }

    /// Waits until the agent answers on its control socket (it has attached the datapath and
    /// started the proxy by then); fails with its log if it exits or does not answer in 30 s.
    private static func waitForAgent(pid: Int32) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if kill(pid, 0) != 0 {
                throw ValidationError("the agent exited during start-up:\n" + logTail())
            }
            if let r = try? ControlClient.send(ControlRequest(op: .status), path: Paths.controlSocket), r.ok {
                return
            }
            usleep(100_000)
        }
        throw ValidationError("the agent did not answer within 30 s:\n" + logTail())
    }

    private static func logTail() -> String {
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
    private static func isZombie(_ pid: Int32) -> Bool {
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
