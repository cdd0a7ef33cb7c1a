import ArgumentParser
import Datapath
import Flows
import Foundation
import Glibc
import Policy
import PolicyYAML
import SluiceAPI
import SluiceIO

/// `sluice`: a transparent per-node L7 policy proxy. Argument parsing and wiring only.
@main
struct Sluice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Transparent per-node L7 policy proxy: CiliumNetworkPolicy HTTP and DNS rules, Hubble-style flows.",
        version: SluiceVersion.current,
        subcommands: [
            Demo.self, SandboxCommand.self, Apply.self, Delete.self, PolicyCommand.self, Observe.self, Status.self,
            Version.self, EndpointCommand.self, IdentityCommand.self, FQDNCommand.self, BPFCommand.self,
            FlowsCommand.self, AgentCommand.self,
        ])

    /// `sluice agent ...` becomes `sluice-agent ...` before anything else runs (its own options
    /// and help); every other command goes to ArgumentParser.
    static func main() {
        let arguments = CommandLine.arguments
        if arguments.count > 1 && arguments[1] == "agent" {
            do {
                try AgentCommand.exec(Array(arguments.dropFirst(2)))
            } catch {
                exit(withError: error)
            }
        }
        main(nil)
    }
}

/// Paths shared by the commands.
enum Paths {
    static let runDirectory = "/run/sluice"
    static let sandboxState = runDirectory + "/sandbox"
    /// The agent's defaults, so the CLI and `sluice-agent` agree without passing them.
    static let agentState = AgentPaths.stateDirectory
    static let controlSocket = AgentPaths.controlSocket
    static let pinDirectory = AgentPaths.pinDirectory

    /// The repository the binary was built in (holds bpf/, .venv/, integration/servers/): the
    /// agent's rule (`SLUICE_HOME`, else the nearest directory above the executable holding
    /// Package.swift, else the working directory).
    static var repoRoot: String { Files.repositoryRoot() }

    static var executable: String { Files.executablePath() ?? CommandLine.arguments[0] }
}

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Send policies (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy YAML) to the running agent. Atomic: a file with an error changes nothing."
    )

    @OptionGroup var file: PolicyFile

    @Option(
        help:
            "Control socket of the agent (default /run/sluice/agent.sock; in a multi-node sandbox, without it, the objects go to the sandbox's API server for every node)."
    )
    var socket: String?

    func run() throws {
        let filename = file.filename
        let request = try file.read { try ControlRequest.apply(file: filename, yamlText: $0) }
        if socket == nil, let api = SandboxKubeAPI.current() {
            try SandboxKubeAPI.run(api, verb: "apply", file: filename)
        }
        let response = try ControlClient.send(request, path: socket ?? Paths.controlSocket)
        if response.ok {
            print(response.message)
        } else {
            FileHandle.standardError.write(Data(("error: " + response.message + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

/// `sluice delete -f FILE`: kubectl's `delete -f`, the objects a policy file names.
struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Remove the policy objects a file names (kind, namespace, name) from the running agent. Atomic: an object not in force changes nothing."
    )

    @OptionGroup var file: PolicyFile

    @Flag(help: "An object that is not in force is not an error.")
    var ignoreNotFound = false

    @Option(
        help:
            "Control socket of the agent (default /run/sluice/agent.sock; in a multi-node sandbox, without it, the objects are deleted from the sandbox's API server)."
    )
    var socket: String?

    func run() throws {
        let filename = file.filename
        let documents = try file.read { try PolicyYAML.documents($0, fileName: filename) }
        if socket == nil, let api = SandboxKubeAPI.current() {
            try SandboxKubeAPI.run(
                api, verb: "delete", file: filename, extra: ignoreNotFound ? ["--ignore-not-found"] : [])
        }
        try Self.send(
            ControlRequest(
                op: .delete, file: filename, documents: documents, ignoreNotFound: ignoreNotFound ? true : nil),
            socket: socket ?? Paths.controlSocket)
    }

    /// Sends a request (delete, flows pause/resume); prints the agent's lines, or its error on
    /// stderr with exit 1.
    static func send(_ request: ControlRequest, socket: String) throws {
        let response = try ControlClient.send(request, path: socket)
        if response.ok {
            if !response.message.isEmpty { print(response.message) }
        } else {
            FileHandle.standardError.write(Data(("Error from agent: " + response.message + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Inspect the policy in force, or delete from it.",
        subcommands: [Get.self, DeleteByName.self])

    /// `sluice policy delete NAME... [-n NS]`: kubectl's `delete cnp NAME -n NS`.
    struct DeleteByName: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract:
                "Remove policy objects by name from the running agent (every kind in the namespace; cluster-wide ones by name). Atomic: a name not in force changes nothing."
        )
        @Argument(help: "Names of the policy objects.")
        var names: [String]
        @Option(name: .shortAndLong, help: "Namespace of the objects.")
        var namespace: String = "default"
        @Flag(help: "A name that is not in force is not an error.")
        var ignoreNotFound = false
        @OptionGroup var agent: AgentSocket

        func run() throws {
            try Delete.send(
                ControlRequest(
                    op: .delete, names: names, namespace: namespace, ignoreNotFound: ignoreNotFound ? true : nil),
                socket: agent.socket)
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the policies in force.")
        @OptionGroup var agent: AgentSocket
        @Option(
            name: .shortAndLong,
            help: "yaml or json: the policy objects in force as applied (default: the agent's normalised listing).")
        var output: String?

        func run() throws {
            if let output {
                try PolicyObjects.print(format: output, socket: agent.socket)
                return
            }
            let response = try ControlClient.send(ControlRequest(op: .get), path: agent.socket)
            print(response.message)
            if !response.ok { throw ExitCode(1) }
        }
    }
}

/// `sluice agent`: the agent is its own executable, `sluice-agent` next to this one (no
/// Foundation, Yams or ArgumentParser in its memory); `main` execs it with the arguments as given.
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the node agent: datapath, proxy workers, control socket (started by `sluice sandbox up`).",
        discussion: "Runs sluice-agent with the same arguments; `sluice agent --help` lists its options.")

    @Argument(parsing: .allUnrecognized, help: "Options of sluice-agent.")
    var arguments: [String] = []

    func run() throws {
        try Self.exec(arguments)
    }

    /// The agent executable: beside this binary.
    static var executable: String { Files.directory(of: Paths.executable) + "/sluice-agent" }

    /// Replaces this process with `sluice-agent arguments...`.
    static func exec(_ arguments: [String]) throws -> Never {
        let path = executable
        guard Files.exists(path) else {
            throw ValidationError("\(path) not found (`make build` builds it next to sluice)")
        }
        try SandboxLifecycle.exec([path] + arguments)
    }
}

/// `-f FILE` of `apply` and `delete`: kubectl's policy file.
struct PolicyFile: ParsableArguments {
    @Option(name: .shortAndLong, help: "Policy file (multi-document YAML allowed).")
    var filename: String

    /// What `parse` makes of the file's text: a file that cannot be read is a usage error; a
    /// parse (YAML) error is printed as `error: ...` and exits 1 before the agent is asked.
    func read<T>(_ parse: (String) throws -> T) throws -> T {
        guard let text = try? String(contentsOfFile: filename, encoding: .utf8) else {
            throw ValidationError("cannot read \(filename)")
        }
        do {
            return try parse(text)
        } catch {
            FileHandle.standardError.write(Data(("error: \(error)\n").utf8))
            throw ExitCode(1)
        }
    }
}

extension ControlRequest {
    /// An apply request: the file's YAML parsed here into documents with their lines and
    /// columns (the agent has no YAML parser); a YAML syntax error is a `LoadError` naming the
    /// file, line and column, as the agent's own errors do.
    static func apply(file: String, yamlText: String) throws -> ControlRequest {
        ControlRequest(op: .apply, file: file, documents: try PolicyYAML.documents(yamlText, fileName: file))
    }
}

/// `sluice flows pause` / `sluice flows resume`: the running agent's flow recording off and on
/// again, without a restart (the control operations `flows-pause`, `flows-resume`; `sluice
/// status` says `Flows: Paused` meanwhile).
struct FlowsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows", abstract: "Pause or resume the running agent's flow recording.",
        subcommands: [Pause.self, Resume.self])

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Stop writing flow records (L7 records of the proxy, trace and policy-verdict records of allowed traffic; drops are still recorded) until `sluice flows resume`."
        )
        @OptionGroup var agent: AgentSocket

        func run() throws { try Delete.send(ControlRequest(op: .flowsPause), socket: agent.socket) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write flow records again after `sluice flows pause`.")
        @OptionGroup var agent: AgentSocket

        func run() throws { try Delete.send(ControlRequest(op: .flowsResume), socket: agent.socket) }
    }
}
