import ArgumentParser
import Datapath
import Foundation
import HTTP2
import Proxy

/// `sluice`: a transparent per-node L7 policy proxy. Argument parsing and wiring only.
@main
struct Sluice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Transparent per-node L7 policy proxy: CiliumNetworkPolicy HTTP and DNS rules, Hubble-style flows.",
        subcommands: [Demo.self, SandboxCommand.self, Apply.self, PolicyCommand.self, Observe.self, AgentCommand.self])
}

/// Paths shared by the commands.
enum Paths {
    static let runDirectory = "/run/sluice"
    static let sandboxState = runDirectory + "/sandbox"
    static let agentState = runDirectory + "/state"
    static let controlSocket = runDirectory + "/agent.sock"
    static let pinDirectory = "/sys/fs/bpf/sluice"

    /// The repository the binary was built in (holds bpf/, .venv/, integration/servers/), found by
    /// walking up from the executable; `SLUICE_HOME` overrides it.
    static var repoRoot: String {
        if let home = ProcessInfo.processInfo.environment["SLUICE_HOME"] { return home }
        var dir = (executable as NSString).deletingLastPathComponent
        while dir != "/" && !dir.isEmpty {
            if FileManager.default.fileExists(atPath: dir + "/Package.swift") { return dir }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return FileManager.default.currentDirectoryPath
    }

    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send policies (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy YAML) to the running agent. Atomic: a file with an error changes nothing.")

    @Option(name: .shortAndLong, help: "Policy file (multi-document YAML allowed).")
    var filename: String

    @Option(help: "Control socket of the agent.")
    var socket: String = Paths.controlSocket

    func run() throws {
        guard let text = try? String(contentsOfFile: filename, encoding: .utf8) else {
            throw ValidationError("cannot read \(filename)")
        }
        let response = try ControlClient.send(ControlRequest(op: "apply", file: filename, yaml: text), path: socket)
        if response.ok {
            print(response.message)
        } else {
            FileHandle.standardError.write(Data(("error: " + response.message + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Inspect the policy in force.", subcommands: [Get.self])

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the policies in force.")
        @Option(help: "Control socket of the agent.")
        var socket: String = Paths.controlSocket

        func run() throws {
            let response = try ControlClient.send(ControlRequest(op: "get"), path: socket)
            print(response.message)
            if !response.ok { throw ExitCode(1) }
        }
    }
}

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the node agent: datapath, proxy workers, control socket (started by `sluice sandbox up`).")

    @Option(help: "Network namespace (name under /run/netns) to run in.")
    var netns: String?
    @Option(help: "JSON file listing the node's endpoints.")
    var endpoints: String = Paths.sandboxState + "/state.json"
    @Option(help: "Directory for the agent's persistent state.")
    var stateDir: String = Paths.agentState
    @Option(help: "Control socket path.")
    var socket: String = Paths.controlSocket
    @Option(help: "Directory holding the compiled BPF objects.")
    var bpfDir: String?
    @Option(help: "Worker threads (default: one per core).")
    var workers: Int = ProxyConfig.cores
    @Option(help: "Pin worker i to CPU (N + i) mod cores.")
    var pinCpu: Int?
    @Option(help: "Port of the transparent HTTP listener on 127.0.0.1.")
    var httpPort: UInt16 = 15001
    @Flag(help: "Do not record flows (only to measure what flows cost).")
    var noFlows = false
    @Option(help: "Node name written into flows.")
    var nodeName: String = "sluice-node"
    @Option(help: "Body of the 403 answer (Cilium --http-403-msg).")
    var http403Msg: String = "Access denied"
    @Option(help: "Upstream connect timeout in milliseconds.")
    var connectTimeoutMs: UInt64 = 2000
    @Option(help: "Answer to a DNS query the policy denies: refused or nameError (Cilium --tofqdns-dns-reject-response-code).")
    var dnsRejectResponseCode: String = DNSProxyConfig.RejectResponseCode.refused.rawValue
    @Option(help: "Lowest TTL in seconds of IPs learned for toFQDNs (Cilium --tofqdns-min-ttl).")
    var fqdnMinTtl: UInt32 = 0
    @Option(help: "Port of the transparent DNS listeners (UDP and TCP) on 127.0.0.1.")
    var dnsListenPort: UInt16 = 15053
    @Option(help: "Longest time in milliseconds an answer for a toFQDNs name is held while its IPs are written into the datapath; then it is released anyway and counted (Cilium --tofqdns-proxy-response-max-delay).")
    var fqdnResponseMaxDelayMs: UInt64 = 100
    @Option(help: "Most IPs kept per name for toFQDNs; the least recently seen go first (Cilium --tofqdns-endpoint-max-ip-per-hostname).")
    var fqdnMaxIpsPerName: Int = 1000
    @Option(help: "Answer to a packet the egress policy denies: none (silent drop) or icmp (destination unreachable; Cilium --policy-deny-response).")
    var policyDenyResponse: String = "none"
    @Option(help: "HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients (Envoy max_concurrent_streams; default 100).")
    var http2MaxConcurrentStreams: UInt32?
    @Option(help: "HTTP/2: largest request header list in KiB, more gets 431 on that stream (Envoy max_request_headers_kb; default 60).")
    var http2MaxRequestHeadersKb: Int?
    @Option(help: "HTTP/2: per-stream receive window in bytes (Envoy initial_stream_window_size; default 262144).")
    var http2InitialStreamWindowSize: Int?
    @Option(help: "HTTP/2: per-connection receive window in bytes (Envoy initial_connection_window_size; default 1048576).")
    var http2InitialConnectionWindowSize: Int?

    func run() throws {
        // A closed peer must give EPIPE, never kill the agent; detach from the starting terminal.
        signal(SIGPIPE, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        _ = setsid()
        var config = ProxyConfig(workers: workers, pinFirstCPU: pinCpu, httpListenPort: httpPort)
        config.recordFlows = !noFlows
        config.accessDeniedMessage = http403Msg
        config.connectTimeoutNs = connectTimeoutMs * 1_000_000
        do {
            config.http2Limits = try HTTP2Limits.withOptions(
                maxConcurrentStreams: http2MaxConcurrentStreams, maxRequestHeadersKB: http2MaxRequestHeadersKb,
                initialStreamWindowSize: http2InitialStreamWindowSize,
                initialConnectionWindowSize: http2InitialConnectionWindowSize)
        } catch {
            throw ValidationError(error.description)
        }
        var options = Agent.Options(
            netns: netns, endpointsFile: endpoints, stateDirectory: stateDir, controlSocket: socket,
            bpfObjectDirectory: bpfDir ?? Paths.repoRoot + "/bpf", pinDirectory: Paths.pinDirectory,
            nodeName: nodeName, proxy: config)
        guard let reject = DNSProxyConfig.RejectResponseCode(rawValue: dnsRejectResponseCode) else {
            throw ValidationError("--dns-reject-response-code must be refused or nameError")
        }
        options.dns.rejectResponseCode = reject
        options.dns.fqdnMinTTL = fqdnMinTtl
        options.dns.listenPort = dnsListenPort
        guard fqdnMaxIpsPerName > 0 else { throw ValidationError("--fqdn-max-ips-per-name must be at least 1") }
        options.dns.fqdnResponseMaxDelayNs = fqdnResponseMaxDelayMs * 1_000_000
        options.dns.fqdnMaxIPsPerName = fqdnMaxIpsPerName
        guard let denyResponse = Datapath.DenyResponse(rawValue: policyDenyResponse) else {
            throw ValidationError("--policy-deny-response must be none or icmp")
        }
        options.policyDenyResponse = denyResponse
        try Agent(options: options).run()
    }
}
