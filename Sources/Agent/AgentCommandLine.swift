import Datapath
import Flows
import Glibc
import HTTP1
import HTTP2
import Policy
import Proxy
import SluiceAPI
import SluiceIO

/// The agent's command line (`sluice-agent [options]`, also reached as `sluice agent`): one
/// table of options, each with its help and how it sets `Agent.Options`. Hand-written rather
/// than ArgumentParser, which costs the agent 3 MB of resident memory (docs/performance.md).
///
/// Accepted forms: `--name value`, `--name=value`, `--flag`; `-h`/`--help`. An unknown option,
/// a missing or malformed value or a value out of range stops with an error naming the option.
public enum AgentCommandLine {
    /// What the command line asks for.
    public enum Outcome {
        case run(Agent.Options)
        case help(String)
    }

    /// A command-line error, worded for the user.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }

    /// Parses `arguments` (without the program name). `environment` is consulted for
    /// `SLUICE_HOME` (where bpf/ is when `--bpf-dir` is not given).
    public static func parse(
        _ arguments: [String],
        environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }
    )
        throws(Failure) -> Outcome
    {
        var state = State()
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            if argument == "-h" || argument == "--help" { return .help(usage) }
            guard argument.hasPrefix("--") else { throw Failure(message: "unexpected argument '\(argument)'") }
            var name = argument
            var inline: String?
            if let eq = argument.firstIndex(of: "=") {
                name = String(argument[..<eq])
                inline = String(argument[argument.index(after: eq)...])
            }
            guard let spec = specs.first(where: { $0.name == name || $0.aliases.contains(name) }) else {
                throw Failure(message: "unknown option '\(name)'")
            }
            if spec.value == nil {
                if inline != nil { throw Failure(message: "\(spec.name) takes no value") }
                try apply(spec, "", to: &state)
                continue
            }
            let value: String
            if let inline {
                value = inline
            } else {
                guard i < arguments.count else {
                    throw Failure(message: "missing value for '\(spec.name) <\(spec.value!)>'")
                }
                value = arguments[i]
                i += 1
            }
            try apply(spec, value, to: &state)
        }
        do {
            state.options.proxy.http2Limits = try HTTP2Limits.withOptions(
                maxConcurrentStreams: state.http2MaxConcurrentStreams,
                maxRequestHeadersKB: state.http2MaxRequestHeadersKB,
                initialStreamWindowSize: state.http2InitialStreamWindowSize,
                initialConnectionWindowSize: state.http2InitialConnectionWindowSize)
        } catch {
            throw Failure(message: error.description)
        }
        if state.options.bpfObjectDirectory.isEmpty {
            state.options.bpfObjectDirectory = repositoryRoot(environment: environment) + "/bpf"
        }
        return .run(state.options)
    }

    /// The help text: every option with its value, default and meaning.
    public static var usage: String {
        var lines = [
            "USAGE: sluice-agent [options]   (the same as `sluice agent [options]`)",
            "",
            "Runs the node agent: datapath, proxy workers, control socket (started by `sluice sandbox up`).",
            "",
            "OPTIONS:",
        ]
        for spec in specs {
            var head = "  " + spec.name
            if let value = spec.value { head += " <\(value)>" }
            let pad = max(1, 44 - head.count)
            var help = spec.help
            if let def = spec.defaultText { help += " (default: \(def))" }
            lines.append(head + String(repeating: " ", count: pad) + help)
        }
        lines.append("  -h, --help" + String(repeating: " ", count: 34) + "Show this help.")
        return lines.joined(separator: "\n")
    }

    /// The options with nothing given (the sandbox's paths); `bpfObjectDirectory` is empty
    /// until `parse` fills it from the repository root.
    public static var defaults: Agent.Options { State().options }

    // MARK: - The table

    struct State {
        var options = Agent.Options(
            netns: nil, endpointsFile: AgentPaths.endpointsFile, stateDirectory: AgentPaths.stateDirectory,
            controlSocket: AgentPaths.controlSocket, bpfObjectDirectory: "", pinDirectory: AgentPaths.pinDirectory,
            nodeName: AgentPaths.nodeName, proxy: ProxyConfig())
        var http2MaxConcurrentStreams: UInt32?
        var http2MaxRequestHeadersKB: Int?
        var http2InitialStreamWindowSize: Int?
        var http2InitialConnectionWindowSize: Int?
    }

    struct Spec {
        let name: String
        var aliases: [String] = []
        /// The value's placeholder; nil for a flag.
        let value: String?
        let help: String
        var defaultText: String?
        let set: (inout State, String) throws -> Void
    }

    /// A comma-separated list of header names, lowercased; empty names are an error.
    static func headerList(_ value: String, _ option: String) throws(Failure) -> [String] {
        let names = value.split(separator: ",", omittingEmptySubsequences: false).map { String($0).lowercased() }
        if names.contains(where: \.isEmpty) { throw Failure(message: "\(option): empty header name in '\(value)'") }
        return names
    }

    static let specs: [Spec] = [
        Spec(name: "--netns", value: "name", help: "Network namespace (name under /run/netns) to run in.") { s, v in
            s.options.netns = v
        },
        Spec(
            name: "--endpoints", value: "path", help: "JSON file listing the node's endpoints.",
            defaultText: "/run/sluice/sandbox/state.json"
        ) { s, v in s.options.endpointsFile = v },
        Spec(
            name: "--state-dir", value: "path", help: "Directory for the agent's persistent state.",
            defaultText: "/run/sluice/state"
        ) { s, v in s.options.stateDirectory = v },
        Spec(
            name: "--socket", value: "path", help: "Control socket path.",
            defaultText: "/run/sluice/agent.sock"
        ) { s, v in s.options.controlSocket = v },
        Spec(
            name: "--bpf-dir", value: "path", help: "Directory holding the compiled BPF objects.",
            defaultText: "bpf/ of the repository the binary was built in, or $SLUICE_HOME/bpf"
        ) { s, v in
            s.options.bpfObjectDirectory = v
        },
        Spec(name: "--workers", value: "n", help: "Worker threads.", defaultText: "one per core") { s, v in
            s.options.proxy.workers = try number(v, "--workers", in: 1...1024)
        },
        Spec(name: "--pin-cpu", value: "n", help: "Pin worker i to CPU (N + i) mod cores.") { s, v in
            s.options.proxy.pinFirstCPU = try number(v, "--pin-cpu", in: 0...65535)
        },
        Spec(
            name: "--http-port", value: "port", help: "Port of the transparent HTTP listener on 127.0.0.1.",
            defaultText: "15001"
        ) { s, v in s.options.proxy.httpListenPort = try number(v, "--http-port", in: 1...65535) },
        Spec(name: "--no-flows", value: nil, help: "Do not record flows (only to measure what flows cost).") { s, _ in
            s.options.proxy.recordFlows = false
        },
        Spec(
            name: "--hubble-redact-enabled", aliases: ["--redact-enabled"], value: nil,
            help: "Redact L7 flows as the --hubble-redact-* options say (none of them acts without this)."
        ) { s, _ in
            s.options.redaction.enabled = true
        },
        Spec(
            name: "--hubble-redact-http-urlquery", aliases: ["--redact-http-urlquery"], value: nil,
            help: "Cut the query off HTTP flows' URLs."
        ) { s, _ in
            s.options.redaction.urlQuery = true
        },
        Spec(
            name: "--hubble-redact-http-userinfo", aliases: ["--redact-http-userinfo"], value: nil,
            help: "Replace a password in HTTP flows' URLs by HUBBLE_REDACTED."
        ) { s, _ in
            s.options.redaction.userInfo = true
        },
        Spec(
            name: "--hubble-redact-http-headers-allow", aliases: ["--redact-http-headers-allow"], value: "h1,h2",
            help: "Show only these HTTP header values in flows (flows carry no headers yet)."
        ) { s, v in
            s.options.redaction.headersAllow = try headerList(v, "--hubble-redact-http-headers-allow")
            if !s.options.redaction.headersDeny.isEmpty {
                throw Failure(message: "headers allow and deny lists exclude each other")
            }
        },
        Spec(
            name: "--hubble-redact-http-headers-deny", aliases: ["--redact-http-headers-deny"], value: "h1,h2",
            help: "Redact these HTTP header values in flows (flows carry no headers yet)."
        ) { s, v in
            s.options.redaction.headersDeny = try headerList(v, "--hubble-redact-http-headers-deny")
            if !s.options.redaction.headersAllow.isEmpty {
                throw Failure(message: "headers allow and deny lists exclude each other")
            }
        },
        Spec(
            name: "--hubble-redact-kafka-apikey", aliases: ["--redact-kafka-apikey"], value: nil,
            help: "Accepted for Hubble's sake; Sluice records no Kafka flows."
        ) { s, _ in
            s.options.redaction.kafkaAPIKey = true
        },
        Spec(
            name: "--hubble-export-file-path", value: "path",
            help: "Write every flow to this file as Hubble JSON lines (Hubble's exporter); off without it."
        ) { s, v in
            s.options.export.path = v
        },
        Spec(
            name: "--hubble-export-file-max-size-mb", value: "MB", help: "Rotate the export file at this size.",
            defaultText: "10"
        ) { s, v in
            s.options.export.maxSizeBytes =
                try number(v, "--hubble-export-file-max-size-mb", in: 1...1_000_000) * 1_048_576
        },
        Spec(
            name: "--hubble-export-file-max-backups", value: "n", help: "Rotated export files kept.",
            defaultText: "5"
        ) { s, v in
            s.options.export.maxBackups = try number(v, "--hubble-export-file-max-backups", in: 0...1_000_000)
        },
        Spec(
            name: "--hubble-export-allowlist", value: "filters",
            help: "Export only flows matching one of these JSON flow filters ({\"verdict\":[\"DROPPED\"]},{...})."
        ) { s, v in
            do {
                s.options.export.allow = try FlowExportFilter(parsing: v)
            } catch {
                throw Failure(message: "--hubble-export-allowlist: \(error)")
            }
        },
        Spec(
            name: "--hubble-export-denylist", value: "filters",
            help: "Do not export flows matching one of these JSON flow filters."
        ) { s, v in
            do {
                s.options.export.deny = try FlowExportFilter(parsing: v)
            } catch {
                throw Failure(message: "--hubble-export-denylist: \(error)")
            }
        },
        Spec(name: "--node-name", value: "name", help: "Node name written into flows.", defaultText: "sluice-node") {
            s, v in
            s.options.nodeName = v
        },
        Spec(
            name: "--http-403-msg", aliases: ["--http403-msg"], value: "text",
            help: "Body of the 403 answer (Cilium --http-403-msg).", defaultText: "Access denied"
        ) { s, v in
            s.options.proxy.accessDeniedMessage = v
        },
        Spec(
            name: "--connect-timeout-ms", value: "ms", help: "Upstream connect timeout in milliseconds.",
            defaultText: "2000"
        ) { s, v in
            s.options.proxy.connectTimeoutNs = try number(v, "--connect-timeout-ms", in: 1...3_600_000) * 1_000_000
        },
        Spec(
            name: "--dns-reject-response-code", value: "refused|nameError",
            help: "Answer to a DNS query the policy denies (Cilium --tofqdns-dns-reject-response-code).",
            defaultText: "refused"
        ) { s, v in
            guard let code = DNSProxyConfig.RejectResponseCode(rawValue: v) else {
                throw Failure(message: "--dns-reject-response-code must be refused or nameError, not '\(v)'")
            }
            s.options.dns.rejectResponseCode = code
        },
        Spec(
            name: "--fqdn-min-ttl", value: "seconds",
            help: "Lowest TTL of IPs learned for toFQDNs (Cilium --tofqdns-min-ttl).", defaultText: "0"
        ) { s, v in
            s.options.dns.fqdnMinTTL = try number(v, "--fqdn-min-ttl", in: 0...UInt32.max)
        },
        Spec(
            name: "--dns-listen-port", value: "port",
            help: "Port of the transparent DNS listeners (UDP and TCP) on 127.0.0.1.", defaultText: "15053"
        ) { s, v in
            s.options.dns.listenPort = try number(v, "--dns-listen-port", in: 1...65535)
        },
        Spec(
            name: "--fqdn-response-max-delay-ms", value: "ms",
            help:
                "Longest time an answer for a toFQDNs name is held while its IPs are written into the datapath; then it is released anyway and counted (Cilium --tofqdns-proxy-response-max-delay).",
            defaultText: "100"
        ) { s, v in
            s.options.dns.fqdnResponseMaxDelayNs =
                try number(v, "--fqdn-response-max-delay-ms", in: 0...60_000) * 1_000_000
        },
        Spec(
            name: "--fqdn-max-ips-per-name", value: "n",
            help:
                "Most IPs kept per name for toFQDNs; the least recently seen go first (Cilium --tofqdns-endpoint-max-ip-per-hostname).",
            defaultText: "1000"
        ) { s, v in
            s.options.dns.fqdnMaxIPsPerName = try number(v, "--fqdn-max-ips-per-name", in: 1...1_000_000)
        },
        Spec(
            name: "--fqdn-max-entries", value: "n",
            help:
                "Most IPs learned for toFQDNs over all names, node-wide; past it the least recently seen go first, down to 15/16 of it (Cilium has no global cap).",
            defaultText: "65536"
        ) { s, v in
            s.options.dns.fqdnMaxEntries = try number(v, "--fqdn-max-entries", in: 1...10_000_000)
        },
        Spec(
            name: "--policy-deny-response", value: "none|icmp",
            help:
                "Answer to a packet the egress policy denies: silent drop or ICMP destination unreachable (Cilium --policy-deny-response).",
            defaultText: "none"
        ) { s, v in
            guard let response = Datapath.DenyResponse(rawValue: v) else {
                throw Failure(message: "--policy-deny-response must be none or icmp, not '\(v)'")
            }
            s.options.policyDenyResponse = response
        },
        Spec(
            name: "--map-max-entries", value: "map=n",
            help:
                "Test knob: create the pinned map `map` (e.g. sluice_policy) with room for n entries instead of what bpf/ declares, so that a policy install can be made to fail on a full map; repeatable. A pinned map of another size is recreated."
        ) { s, v in
            let parts = v.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, parts[0].hasPrefix("sluice_") else {
                throw Failure(message: "--map-max-entries: '\(v)' is not map=n (a map name starting with sluice_)")
            }
            s.options.mapMaxEntries[parts[0]] = try number(parts[1], "--map-max-entries", in: 1...UInt32(1 << 24))
        },
        Spec(
            name: "--http-headers-with-underscores", value: "allow|reject-request|drop-header",
            help:
                "HTTP/1: a request header name holding '_' is forwarded, answered with 400, or removed before matching (Envoy headers_with_underscores_action; Envoy's default is allow).",
            defaultText: "reject-request"
        ) { s, v in
            guard let action = HeadersWithUnderscoresAction(rawValue: v) else {
                throw Failure(
                    message: "--http-headers-with-underscores must be allow, reject-request or drop-header, not '\(v)'")
            }
            s.options.proxy.headersWithUnderscores = action
        },
        Spec(
            name: "--http-max-request-headers-kb", value: "KiB",
            help:
                "HTTP/1: largest request head (request line and fields), more gets 431 (Envoy max_request_headers_kb).",
            defaultText: "60"
        ) { s, v in
            s.options.proxy.httpLimits.maxHeadBytes =
                try number(v, "--http-max-request-headers-kb", in: 1...1024) * 1024
        },
        Spec(
            name: "--http-max-headers-count", value: "n",
            help: "HTTP/1: most request header fields, more gets 431 (Envoy max_headers_count).", defaultText: "100"
        ) { s, v in
            s.options.proxy.httpLimits.maxHeaderCount = try number(v, "--http-max-headers-count", in: 1...10_000)
        },
        Spec(
            name: "--http-max-request-target-kb", value: "KiB",
            help: "HTTP/1: longest request-target (the request line's path and query), more gets 414.",
            defaultText: "8"
        ) { s, v in
            s.options.proxy.httpLimits.maxTargetBytes =
                try number(v, "--http-max-request-target-kb", in: 1...1024) * 1024
        },
        Spec(
            name: "--allow-localhost", value: "always|policy",
            help:
                "Whether the node reaches its pods whatever their ingress policy says (always; on ports with ingress L7 rules for the host, every request passes through the proxy) or only as the policy allows, L7 rules included (Cilium --allow-localhost; auto = always).",
            defaultText: "always"
        ) { s, v in
            guard let mode = AllowLocalhost(rawValue: v == "auto" ? "always" : v) else {
                throw Failure(message: "--allow-localhost must be always, auto or policy, not '\(v)'")
            }
            s.options.allowLocalhost = mode
        },
        Spec(
            name: "--http2-max-concurrent-streams", value: "n",
            help: "HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients (Envoy max_concurrent_streams).",
            defaultText: "100"
        ) { s, v in
            s.http2MaxConcurrentStreams = try number(v, "--http2-max-concurrent-streams", in: 0...UInt32.max)
        },
        Spec(
            name: "--http2-max-request-headers-kb", value: "KiB",
            help: "HTTP/2: largest request header list, more gets 431 on that stream (Envoy max_request_headers_kb).",
            defaultText: "60"
        ) { s, v in
            s.http2MaxRequestHeadersKB = try number(v, "--http2-max-request-headers-kb", in: Int.min...Int.max)
        },
        Spec(
            name: "--http2-initial-stream-window-size", value: "bytes",
            help: "HTTP/2: per-stream receive window (Envoy initial_stream_window_size).", defaultText: "262144"
        ) { s, v in
            s.http2InitialStreamWindowSize = try number(v, "--http2-initial-stream-window-size", in: Int.min...Int.max)
        },
        Spec(
            name: "--http2-initial-connection-window-size", value: "bytes",
            help: "HTTP/2: per-connection receive window (Envoy initial_connection_window_size).",
            defaultText: "1048576"
        ) { s, v in
            s.http2InitialConnectionWindowSize = try number(
                v, "--http2-initial-connection-window-size", in: Int.min...Int.max)
        },
    ]

    private static func apply(_ spec: Spec, _ value: String, to state: inout State) throws(Failure) {
        do {
            try spec.set(&state, value)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "\(spec.name): \(error)")
        }
    }

    /// A decimal integer in `range`, or an error naming the option.
    static func number<T: FixedWidthInteger>(_ text: String, _ option: String, in range: ClosedRange<T>) throws(Failure)
        -> T
    {
        guard let value = T(text, radix: 10) else {
            throw Failure(
                message: "\(option): '\(text)' is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        guard range.contains(value) else {
            throw Failure(message: "\(option): \(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// `SLUICE_HOME`, else the repository the binary was built in (`AgentPaths.repositoryRoot`).
    public static func repositoryRoot(
        environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }
    ) -> String {
        AgentPaths.repositoryRoot(environment: environment)
    }
}
