import Datapath
import Flows
import Glibc
import HTTP1
import HTTP2
import Policy
import Proxy
import SluiceAPI
import SluiceIO
import SluiceModel

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
    public typealias Failure = CommandLineFailure

    /// Parses `arguments` (without the program name). `environment` is consulted for
    /// `SLUICE_HOME` (where bpf/ is when `--bpf-dir` is not given).
    public static func parse(
        _ arguments: [String],
        environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }
    )
        throws(Failure) -> Outcome
    {
        var state = State()
        var scanner = CommandLineScanner(arguments)
        while let token = try scanner.next() {
            guard case .option(let name, let inline) = token else { return .help(usage) }
            guard let spec = specs.first(where: { $0.name == name || $0.aliases.contains(name) }) else {
                throw .unknownOption(name)
            }
            guard let placeholder = spec.value else {
                if inline != nil { throw Failure(message: "\(spec.name) takes no value") }
                try apply(spec, "", to: &state)
                continue
            }
            try apply(spec, try scanner.value(inline: inline, usage: "\(spec.name) <\(placeholder)>"), to: &state)
        }
        do {
            state.options.proxy.http2Limits = try HTTP2Limits.withOptions(
                maxConcurrentStreams: state.http2MaxConcurrentStreams,
                maxRequestHeadersKB: state.http2MaxRequestHeadersKB,
                initialStreamWindowSize: state.http2InitialStreamWindowSize,
                initialConnectionWindowSize: state.http2InitialConnectionWindowSize,
                streamStallTimeoutMs: state.http2StreamStallTimeoutMs,
                streamMinProgressBytes: state.http2StreamMinProgressBytes)
        } catch {
            throw Failure(message: error.description)
        }
        state.options.kubernetes = try kubernetesSource(state, environment: environment)
        try chooseEndpointsSource(&state)
        if state.options.kubernetes != nil && !state.nodeNameGiven {
            state.options.nodeName = hostName()
        }
        if state.options.bpfObjectDirectory.isEmpty {
            state.options.bpfObjectDirectory = repositoryRoot(environment: environment) + "/bpf"
        }
        return .run(state.options)
    }

    /// The Kubernetes API the options name: `--k8s-kubeconfig`, else `--k8s-in-cluster`, else
    /// in-cluster when `KUBERNETES_SERVICE_HOST` is set (as client-go's in-cluster config), else
    /// none. Both options together are an error.
    static func kubernetesSource(_ state: State, environment: (String) -> String?) throws(Failure)
        -> KubernetesSource?
    {
        if let path = state.kubeconfig {
            if state.inCluster { throw Failure(message: "--k8s-kubeconfig and --k8s-in-cluster exclude each other") }
            return .kubeconfig(path)
        }
        if state.inCluster { return .inCluster }
        if let host = environment("KUBERNETES_SERVICE_HOST"), !host.isEmpty { return .inCluster }
        return nil
    }

    /// `--endpoints-from`, or its default: `kubernetes` when the agent watches the API and no
    /// `--endpoints` file is given, else `file`. From the API, an endpoints file given anyway
    /// only gives the node's and the API server's addresses; none is read when none is given.
    static func chooseEndpointsSource(_ state: inout State) throws(Failure) {
        let source =
            state.endpointsFrom ?? (state.options.kubernetes != nil && !state.endpointsGiven ? .kubernetes : .file)
        if source == .kubernetes && state.options.kubernetes == nil {
            throw Failure(
                message:
                    "--endpoints-from=kubernetes needs the Kubernetes API (--k8s-kubeconfig, --k8s-in-cluster or KUBERNETES_SERVICE_HOST)"
            )
        }
        state.options.endpointsFrom = source
        if source == .kubernetes && !state.endpointsGiven { state.options.endpointsFile = "" }
    }

    /// gethostname(2), or `sluice-node` when it fails.
    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return AgentPaths.nodeName }
        let name = String(cString: buffer)
        return name.isEmpty ? AgentPaths.nodeName : name
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
        var http2StreamStallTimeoutMs: Int?
        var http2StreamMinProgressBytes: Int?
        var kubeconfig: String?
        var inCluster = false
        var endpointsFrom: EndpointsSource?
        /// The options the command line gave (their names), for defaults that depend on them.
        var given: Set<String> = []
        var nodeNameGiven: Bool { given.contains("--node-name") }
        var endpointsGiven: Bool { given.contains("--endpoints") }
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
        .parsed("--netns", "name", \.options.netns, help: "Network namespace (name under /run/netns) to run in.") {
            $0
        },
        .text(
            "--endpoints", "path", \.options.endpointsFile,
            help:
                "JSON file listing the node's endpoints (the sandbox's state); with --endpoints-from=kubernetes only its node and API server addresses.",
            defaultText: "/run/sluice/sandbox/state.json, none with --endpoints-from=kubernetes"),
        .choice(
            "--endpoints-from", "file|kubernetes", \.endpointsFrom,
            help:
                "Where this node's endpoints come from: the --endpoints file, or the Kubernetes API's pods with spec.nodeName = --node-name, each attached on the interface of its per-pod host route (as the CNI set it).",
            defaultText: "kubernetes with the Kubernetes API and no --endpoints, else file"),
        .text(
            "--state-dir", "path", \.options.stateDirectory, help: "Directory for the agent's persistent state.",
            defaultText: "/run/sluice/state"),
        .text(
            "--socket", "path", \.options.controlSocket, help: "Control socket path.",
            defaultText: "/run/sluice/agent.sock"),
        .text(
            "--bpf-dir", "path", \.options.bpfObjectDirectory, help: "Directory holding the compiled BPF objects.",
            defaultText: "bpf/ of the repository the binary was built in, or $SLUICE_HOME/bpf"),
        .text(
            "--pin-dir", "path", \.options.pinDirectory,
            help:
                "bpffs directory of the pinned maps (one agent per directory; the sandbox's other nodes use their own).",
            defaultText: "/sys/fs/bpf/sluice"),
        .integer(
            "--workers", "n", in: 1...1024, \.options.proxy.workers, help: "Worker threads.",
            defaultText: "one per core"),
        .integer(
            "--pin-cpu", "n", in: 0...65535, \.options.proxy.pinFirstCPU, help: "Pin worker i to CPU (N + i) mod cores."
        ),
        .integer(
            "--http-port", "port", in: 1...65535, \.options.proxy.httpListenPort,
            help: "Port of the transparent HTTP listener on 127.0.0.1.", defaultText: "15001"),
        .flag(
            "--tls-ktls", \.options.proxy.tlsKernelOffload, to: true,
            help: "Let OpenSSL use kernel TLS (SSL_OP_ENABLE_KTLS) on intercepted connections where it can."),
        .flag(
            "--no-flows", \.options.proxy.recordFlows, to: false,
            help: "Do not record flows (only to measure what flows cost)."),
        .flag(
            "--hubble-redact-enabled", alias: "--redact-enabled", \.options.redaction.enabled,
            help: "Redact L7 flows as the --hubble-redact-* options say (none of them acts without this)."),
        .flag(
            "--hubble-redact-http-urlquery", alias: "--redact-http-urlquery", \.options.redaction.urlQuery,
            help: "Cut the query off HTTP flows' URLs."),
        .flag(
            "--hubble-redact-http-userinfo", alias: "--redact-http-userinfo", \.options.redaction.userInfo,
            help: "Replace a password in HTTP flows' URLs by HUBBLE_REDACTED."),
        .headerList(
            "--hubble-redact-http-headers-allow", alias: "--redact-http-headers-allow",
            \.options.redaction.headersAllow,
            excluding: \.options.redaction.headersDeny,
            help: "Show only these request header values in HTTP flows (others: HUBBLE_REDACTED)."),
        .headerList(
            "--hubble-redact-http-headers-deny", alias: "--redact-http-headers-deny", \.options.redaction.headersDeny,
            excluding: \.options.redaction.headersAllow,
            help: "Redact these request header values in HTTP flows (with neither list: all of them)."),
        .flag(
            "--hubble-redact-kafka-apikey", alias: "--redact-kafka-apikey", \.options.redaction.kafkaAPIKey,
            help: "Accepted for Hubble's sake; Sluice records no Kafka flows."),
        .text(
            "--hubble-export-file-path", "path", \.options.export.path,
            help: "Write every flow to this file as Hubble JSON lines (Hubble's exporter); off without it."),
        .integer(
            "--hubble-export-file-max-size-mb", "MB", in: 1...1_000_000, times: 1_048_576,
            \.options.export.maxSizeBytes, help: "Rotate the export file at this size.", defaultText: "10"),
        .integer(
            "--hubble-export-file-max-backups", "n", in: 0...1_000_000, \.options.export.maxBackups,
            help: "Rotated export files kept.", defaultText: "5"),
        .flowFilters(
            "--hubble-export-allowlist", \.options.export.allow,
            help: "Export only flows matching one of these JSON flow filters ({\"verdict\":[\"DROPPED\"]},{...})."),
        .flowFilters(
            "--hubble-export-denylist", \.options.export.deny,
            help: "Do not export flows matching one of these JSON flow filters."),
        .parsed(
            "--hubble-export-fieldmask", "fields", \.options.export.fieldMask,
            help: "Export only these flow fields (time,source.namespace,verdict,l7.http); all without it."
        ) { v in try FlowFieldMask(parsing: v) },
        .text(
            "--node-name", "name", \.options.nodeName,
            help:
                "This node's name: written into flows, and (with the Kubernetes API) the spec.nodeName of its own pods; pods of other nodes go into the ipcache.",
            defaultText: "the host name with the Kubernetes API, else sluice-node"),
        Spec(
            name: "--k8s-kubeconfig", value: "path",
            help:
                "Learn policies (CNP, CCNP, NetworkPolicy), namespaces and pods from the Kubernetes API this kubeconfig names (list/watch)."
        ) { s, v in
            guard !v.isEmpty else { throw Failure(message: "--k8s-kubeconfig: empty path") }
            s.kubeconfig = v
        },
        .flag(
            "--k8s-in-cluster", \.inCluster,
            help:
                "Use the in-cluster Kubernetes API (KUBERNETES_SERVICE_HOST/PORT and the service account in /var/run/secrets/kubernetes.io/serviceaccount); implied when KUBERNETES_SERVICE_HOST is set and no kubeconfig is given."
        ),
        .text(
            "--tls-secrets-dir", "path", \.options.proxy.tlsSecretsDirectory,
            help: "Secrets of terminatingTLS/originatingTLS: <path>/<namespace>/<name>/{tls.crt,tls.key,ca.crt}.",
            defaultText: "/run/sluice/secrets"),
        .text(
            "--http-403-msg", alias: "--http403-msg", "text", \.options.proxy.accessDeniedMessage,
            help: "Body of the 403 answer (Cilium --http-403-msg).", defaultText: "Access denied"),
        .milliseconds(
            "--connect-timeout-ms", in: 1...3_600_000, \.options.proxy.connectTimeoutNs,
            help: "Upstream connect timeout in milliseconds.", defaultText: "2000"),
        .integer(
            "--max-connections", "n", in: 1...10_000_000, \.options.maxConnections,
            help:
                "Most open HTTP client connections over all workers (split evenly); a worker at its share stops accepting until one closes, the connections wait in the kernel's queue.",
            defaultText: "(open-file limit - min(1024, limit/4)) / 2, at most 1000000"),
        .parsed(
            "--control-group", "group", \.options.controlAccess,
            help:
                "A group (name or number) whose members may use the control socket besides root: the socket becomes 0660 and its directory 0710, owned by that group.",
            defaultText: "none: root only, socket 0600 in a 0700 directory"
        ) { v in
            guard let gid = ControlAccess.resolveGroup(v) else {
                throw Failure(message: "--control-group: no group '\(v)'")
            }
            return ControlAccess(group: gid)
        },
        .milliseconds(
            "--control-timeout-ms", in: 1...3_600_000, \.options.controlClientTimeoutNs,
            help:
                "Time a control client may go without progress (sending its request, reading the answer) "
                + "before it is closed; the agent's own work on the request does not count.",
            defaultText: "5000"),
        .milliseconds(
            "--http-request-head-timeout-ms", in: 1...3_600_000,
            \.options.proxy.requestHeadTimeoutNs,
            help:
                "HTTP/1: the whole request head must arrive within this time from its first byte, else 408 and close (close when nothing arrived).",
            defaultText: "10000"),
        .milliseconds(
            "--http-idle-timeout-ms", in: 0...86_400_000, \.options.proxy.idleTimeoutNs,
            help: "HTTP/1: close a client keep-alive connection idle between requests this long (0: never).",
            defaultText: "3600000"),
        .milliseconds(
            "--http-response-timeout-ms", in: 0...86_400_000,
            \.options.proxy.requestTimeoutNs,
            help:
                "HTTP/1: time for the response head after the request was forwarded, else 504 (Envoy's route timeout; 0: none).",
            defaultText: "15000"),
        .milliseconds(
            "--http-tunnel-idle-timeout-ms", in: 0...86_400_000,
            \.options.proxy.tunnelIdleTimeoutNs,
            help: "HTTP/1: close a tunnel after 101 (WebSocket) with no byte either way this long (0: never).",
            defaultText: "300000"),
        .milliseconds(
            "--http-body-idle-timeout-ms", in: 0...86_400_000,
            \.options.proxy.bodyIdleTimeoutNs,
            help:
                "HTTP/1: a request or response body with no byte moving this long ends the exchange: 408 (client stopped sending), 504 (upstream stopped taking it), or close once the response started (upstream silent, client not reading); 0: never.",
            defaultText: "300000"),
        .choice(
            "--dns-reject-response-code", "refused|nameError", \.options.dns.rejectResponseCode,
            help: "Answer to a DNS query the policy denies (Cilium --tofqdns-dns-reject-response-code).",
            defaultText: "refused"),
        .integer(
            "--fqdn-min-ttl", "seconds", in: 0...UInt32.max, \.options.dns.fqdnMinTTL,
            help: "Lowest TTL of IPs learned for toFQDNs (Cilium --tofqdns-min-ttl).", defaultText: "0"),
        .integer(
            "--dns-listen-port", "port", in: 1...65535, \.options.dns.listenPort,
            help: "Port of the transparent DNS listeners (UDP and TCP) on 127.0.0.1.", defaultText: "15053"),
        .milliseconds(
            "--fqdn-response-max-delay-ms", in: 0...60_000,
            \.options.dns.fqdnResponseMaxDelayNs,
            help:
                "Longest time an answer for a toFQDNs name is held while its IPs are written into the datapath; then it is released anyway and counted (Cilium --tofqdns-proxy-response-max-delay).",
            defaultText: "100"),
        .integer(
            "--fqdn-max-ips-per-name", "n", in: 1...1_000_000, \.options.dns.fqdnMaxIPsPerName,
            help:
                "Most IPs kept per name for toFQDNs; the least recently seen go first (Cilium --tofqdns-endpoint-max-ip-per-hostname).",
            defaultText: "1000"),
        .integer(
            "--fqdn-max-entries", "n", in: 1...10_000_000, \.options.dns.fqdnMaxEntries,
            help:
                "Most IPs learned for toFQDNs over all names, node-wide; past it the least recently seen go first, down to 15/16 of it (Cilium has no global cap).",
            defaultText: "65536"),
        .milliseconds(
            "--dns-tcp-idle-timeout-ms", in: 1...3_600_000, \.options.dns.tcpIdleTimeoutNs,
            help: "DNS over TCP: close a client connection with no query in flight this long.",
            defaultText: "10000"),
        .integer(
            "--dns-tcp-max-queries-in-flight", "n", in: 1...65535, \.options.dns.tcpMaxQueriesInFlight,
            help:
                "DNS over TCP: queries of one connection in flight upstream before the proxy stops reading more of them (pipelining).",
            defaultText: "128"),
        .integer(
            "--dns-tcp-max-buffered-bytes", "bytes", in: 0...16_777_216, \.options.dns.tcpMaxBufferedBytes,
            help:
                "DNS over TCP: answers buffered for a client that does not read before its queries stop being read; past this plus one largest message the connection is closed.",
            defaultText: "65536"),
        .integer(
            "--dns-tcp-max-connections", "n", in: 1...1_000_000, \.options.dns.tcpMaxConnections,
            help:
                "DNS over TCP: most open client connections over all workers (split evenly); a worker at its share stops accepting until one closes.",
            defaultText: "4096"),
        .integer(
            "--dns-gather-us", "µs", in: 0...10_000, times: 1_000, \.options.dns.udpGatherWindowNs,
            help:
                "DNS over UDP: while a worker handles DNS datagrams only, 2 to 8 per window, and is idle at least half the time, it wakes at most once per window and reads and sends what arrived meanwhile together (fewer wake-ups per query below saturation: 250 gathers from 4,000 to 16,000 forwarded queries/s; each gathered datagram waits up to the window); 0 (off, the default) wakes for every datagram.",
            defaultText: "0"),
        .choice(
            "--policy-deny-response", "none|icmp", \.options.policyDenyResponse,
            help:
                "Answer to a packet the egress policy denies: silent drop or ICMP destination unreachable (Cilium --policy-deny-response).",
            defaultText: "none"),
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
        .choice(
            "--http-headers-with-underscores", "allow|reject-request|drop-header",
            \.options.proxy.headersWithUnderscores,
            help:
                "HTTP/1: a request header name holding '_' is forwarded, answered with 400, or removed before matching (Envoy headers_with_underscores_action; Envoy's default is allow).",
            defaultText: "reject-request"),
        .integer(
            "--http-max-request-headers-kb", "KiB", in: 1...1024, times: 1024, \.options.proxy.httpLimits.maxHeadBytes,
            help:
                "HTTP/1: largest request head (request line and fields), more gets 431 (Envoy max_request_headers_kb).",
            defaultText: "60"),
        .integer(
            "--http-max-headers-count", "n", in: 1...10_000, \.options.proxy.httpLimits.maxHeaderCount,
            help: "HTTP/1: most request header fields, more gets 431 (Envoy max_headers_count).", defaultText: "100"),
        .integer(
            "--http-max-request-target-kb", "KiB", in: 1...1024, times: 1024, \.options.proxy.httpLimits.maxTargetBytes,
            help: "HTTP/1: longest request-target (the request line's path and query), more gets 414.",
            defaultText: "8"),
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
        .integer(
            "--http2-max-concurrent-streams", "n", in: 0...UInt32.max, \.http2MaxConcurrentStreams,
            help: "HTTP/2: SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients (Envoy max_concurrent_streams).",
            defaultText: "100"),
        .integer(
            "--http2-max-request-headers-kb", "KiB", in: Int.min...Int.max, \.http2MaxRequestHeadersKB,
            help: "HTTP/2: largest request header list, more gets 431 on that stream (Envoy max_request_headers_kb).",
            defaultText: "60"),
        .integer(
            "--http2-initial-stream-window-size", "bytes", in: Int.min...Int.max, \.http2InitialStreamWindowSize,
            help: "HTTP/2: per-stream receive window (Envoy initial_stream_window_size).", defaultText: "262144"),
        .integer(
            "--http2-initial-connection-window-size", "bytes", in: Int.min...Int.max,
            \.http2InitialConnectionWindowSize,
            help: "HTTP/2: per-connection receive window (Envoy initial_connection_window_size).",
            defaultText: "1048576"),
        .integer(
            "--http2-stream-stall-timeout-ms", "ms", in: Int.min...Int.max, \.http2StreamStallTimeoutMs,
            help:
                "HTTP/2: a stream whose body waits this long on a peer's flow-control window of 0 is reset (ERROR flow, ETIMEDOUT).",
            defaultText: "30000"),
        .integer(
            "--http2-stream-min-progress-bytes", "bytes", in: Int.min...Int.max, \.http2StreamMinProgressBytes,
            help:
                "HTTP/2: a stream with body bytes queued toward a peer must see that peer take this many (or all that was queued) per stall timeout, else it is reset as stalled (defeats a window opened 1 byte at a time).",
            defaultText: "16384"),
    ]

    private static func apply(_ spec: Spec, _ value: String, to state: inout State) throws(Failure) {
        do {
            try spec.set(&state, value)
            state.given.insert(spec.name)
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

    /// `SLUICE_HOME`, else the repository the binary was built in (`Files.repositoryRoot`).
    public static func repositoryRoot(
        environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }
    ) -> String {
        Files.repositoryRoot(environment: environment)
    }
}

// The kinds of options, so that each entry of the table says only what differs.
extension AgentCommandLine.Spec {
    typealias State = AgentCommandLine.State
    typealias Failure = AgentCommandLine.Failure

    /// An option whose value (none for a flag) `parse` turns into what `field` holds.
    static func parsed<V>(
        _ name: String, alias: String? = nil, _ value: String?, _ field: WritableKeyPath<State, V>, help: String,
        defaultText: String? = nil, _ parse: @escaping (String) throws -> V
    ) -> Self {
        Self(name: name, aliases: alias.map { [$0] } ?? [], value: value, help: help, defaultText: defaultText) {
            s, v in
            s[keyPath: field] = try parse(v)
        }
    }

    /// A flag: sets `field` to `on`.
    static func flag(
        _ name: String, alias: String? = nil, _ field: WritableKeyPath<State, Bool>, to on: Bool = true, help: String
    ) -> Self {
        parsed(name, alias: alias, nil, field, help: help) { _ in on }
    }

    /// A value stored as given.
    static func text(
        _ name: String, alias: String? = nil, _ value: String, _ field: WritableKeyPath<State, String>, help: String,
        defaultText: String? = nil
    ) -> Self {
        parsed(name, alias: alias, value, field, help: help, defaultText: defaultText) { $0 }
    }

    /// A decimal integer in `range`, stored times `scale` (a unit: milliseconds to nanoseconds,
    /// KiB to bytes).
    static func integer<T: FixedWidthInteger>(
        _ name: String, _ value: String, in range: ClosedRange<T>, times scale: T = 1,
        _ field: WritableKeyPath<State, T>,
        help: String, defaultText: String? = nil
    ) -> Self {
        parsed(name, value, field, help: help, defaultText: defaultText) {
            try AgentCommandLine.number($0, name, in: range) * scale
        }
    }

    /// A time in milliseconds (`ms`) in `range`, stored in nanoseconds.
    static func milliseconds<T: FixedWidthInteger>(
        _ name: String, in range: ClosedRange<T>, _ field: WritableKeyPath<State, T>, help: String,
        defaultText: String? = nil
    ) -> Self {
        integer(name, "ms", in: range, times: 1_000_000, field, help: help, defaultText: defaultText)
    }

    /// A decimal integer in `range`, into an optional.
    static func integer<T: FixedWidthInteger>(
        _ name: String, _ value: String, in range: ClosedRange<T>, _ field: WritableKeyPath<State, T?>, help: String,
        defaultText: String? = nil
    ) -> Self {
        parsed(name, value, field, help: help, defaultText: defaultText) {
            try AgentCommandLine.number($0, name, in: range)
        }
    }

    /// One of an enum's raw values, which `value` lists (`a|b|c`).
    static func choice<T: RawRepresentable>(
        _ name: String, _ value: String, _ field: WritableKeyPath<State, T>, help: String, defaultText: String? = nil
    ) -> Self where T.RawValue == String {
        parsed(name, value, field, help: help, defaultText: defaultText) { try member($0, of: value, for: name) }
    }

    /// `choice` into an optional, nil while the option is not given (its default depends on others).
    static func choice<T: RawRepresentable>(
        _ name: String, _ value: String, _ field: WritableKeyPath<State, T?>, help: String, defaultText: String? = nil
    ) -> Self where T.RawValue == String {
        parsed(name, value, field, help: help, defaultText: defaultText) { try member($0, of: value, for: name) }
    }

    /// The enum case `v` names, else why not (`NAME must be a, b or c, not 'v'`).
    private static func member<T: RawRepresentable>(_ v: String, of value: String, for name: String) throws(Failure)
        -> T where T.RawValue == String
    {
        guard let choice = T(rawValue: v) else {
            var words = value.split(separator: "|").map(String.init)
            let last = words.removeLast()
            throw Failure(message: "\(name) must be \(words.joined(separator: ", ")) or \(last), not '\(v)'")
        }
        return choice
    }

    /// Hubble's JSON flow filters (`{...},{...}`); a bad one is an error naming the option.
    static func flowFilters(
        _ name: String, _ field: WritableKeyPath<State, FlowExportFilter>, help: String
    ) -> Self {
        parsed(name, "filters", field, help: help) { v in
            do { return try FlowExportFilter(parsing: v) } catch { throw Failure(message: "\(name): \(error)") }
        }
    }

    /// A comma-separated list of header names, lowercased, that excludes the list in `other`.
    static func headerList(
        _ name: String, alias: String, _ field: WritableKeyPath<State, [String]>,
        excluding other: KeyPath<State, [String]>, help: String
    ) -> Self {
        Self(name: name, aliases: [alias], value: "h1,h2", help: help) { s, v in
            s[keyPath: field] = try AgentCommandLine.headerList(v, name)
            if !s[keyPath: other].isEmpty { throw Failure(message: "headers allow and deny lists exclude each other") }
        }
    }
}
