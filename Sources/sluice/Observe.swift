import ArgumentParser
import CSluiceShared
import Datapath
import Flows
import Foundation
import HubbleObserver
import HubbleProto
import Sandbox
import SluiceIO

/// `sluice observe`: reads the pinned flow map like `hubble observe` reads Hubble's ring.
struct Observe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print flows from the flow map (Hubble's `observe`; `sluice observe flows` is the same).",
        discussion: """
            Filters, as in `hubble observe` (values of one flag are ORed, different flags ANDed; `--not` \
            makes the next filter a blacklist entry): --verdict, --drop-reason-desc, -n/--namespace, \
            --from-namespace, --to-namespace, -A/--all-namespaces, --from-all-namespaces, --to-all-namespaces, \
            --pod, --from-pod, --to-pod (a [ns/]name prefix), -l/--label, --from-label, --to-label, --ip, --from-ip, \
            --to-ip, -4/--ipv4, -6/--ipv6, --ip-version, --port, --from-port, --to-port, --identity, \
            --from-identity, --to-identity, -t/--type (l7, drop, policy-verdict, trace), --protocol \
            (tcp, udp, http, dns), --http-method, --http-path, --http-url, --http-status, --http-header key:value, \
            --tcp-flags SYN,ACK, --traffic-direction, --node-name (`*` wildcards), --uuid, \
            --fqdn, --from-fqdn, --to-fqdn (names learned by the DNS proxy; `*` matches any run of name characters).
            """)

    @Option(help: "Print the last N flows (default 20 unless --follow, --all, --first, --since or --until).")
    var last: Int?
    @Option(help: "Print the first N flows still in the map.")
    var first: Int?
    @Flag(help: "Print every flow still in the map.")
    var all = false
    @Flag(name: .shortAndLong, help: "Keep printing new flows.")
    var follow = false
    @Option(help: "Only flows at or after this time: a duration back from now (1m, 2h30m) or RFC 3339.")
    var since: String?
    @Option(help: "Only flows at or before this time: a duration back from now (1m, 2h30m) or RFC 3339.")
    var until: String?
    @Option(name: .shortAndLong, help: "Output: compact, dict, json, jsonpb, table (or tab).")
    var output: String = "compact"
    @Option(help: "Time layout: StampMilli, RFC3339, RFC3339Milli, RFC3339Micro, RFC3339Nano, RFC1123Z.")
    var timeFormat: String = TimeFormat.stampMilli.rawValue
    @Flag(help: "Print the node name in compact, dict and table output.")
    var printNodeName = false
    @Flag(
        help:
            "Print the names of the policies that allowed or denied a policy-verdict flow (ALLOWED BY name (Kind))."
    )
    var printPolicyNames = false
    @Option(help: "Read flows from exported JSON lines (`-o json` output) instead of the flow map; `-` is stdin.")
    var inputFile: String?
    @Option(
        help: "Read flows from a node's Observer gRPC API (HOST[:PORT], port 4244 by default) instead of the flow map.")
    var server: String?
    @Flag(help: "With --server: TLS toward the Observer API (Hubble CLI's --tls).")
    var tls = false
    @Option(
        help: "With --tls: PEM CA certificates the server's certificate must verify against (default: the system's).")
    var tlsCaCertFiles: String?
    @Option(help: "With --tls: PEM client certificate for a server that requires one.")
    var tlsClientCertFile: String?
    @Option(help: "With --tls: PEM key of --tls-client-cert-file.")
    var tlsClientKeyFile: String?
    @Option(help: "With --tls: the name the server's certificate must carry (default: the --server address).")
    var tlsServerName: String?
    @Option(
        help:
            "Read the flow map of this node of a multi-node sandbox (its pins and agent state, `sluice sandbox up` with `nodes:`); default: the first node's."
    )
    var node: String?
    @Argument(parsing: .allUnrecognized, help: "Filters (see above).")
    var filterArguments: [String] = []

    /// The pin and agent state directories to read: `--node`'s, else the defaults.
    func nodeDirectories() throws -> (pins: String, state: String) {
        guard let node else { return (Paths.pinDirectory, Paths.agentState) }
        let state = try SandboxManager(stateDirectory: Paths.sandboxState).state()
        guard let found = state?.node(named: node) else {
            let known = (state?.nodes ?? []).map(\.name).joined(separator: ", ")
            throw ValidationError(
                "--node \(node): no such node in the sandbox (nodes: \(known.isEmpty ? "none" : known))")
        }
        return (found.pinDirectory, found.stateDirectory)
    }

    func run() throws {
        guard let format = OutputFormat(rawValue: output) else {
            throw ValidationError("invalid output format: \(output) (compact, dict, json, jsonpb, table, tab)")
        }
        guard
            let layout = TimeFormat(rawValue: timeFormat)
                ?? TimeFormat.allCases.first(where: {
                    $0.rawValue.lowercased() == timeFormat.lowercased()
                })
        else {
            throw ValidationError(
                "invalid time format: \(timeFormat) (\(TimeFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if follow && (format == .table || format == .tab) {
            throw ValidationError("output format table is not compatible with follow mode")
        }
        if follow && inputFile != nil { throw ValidationError("--follow cannot be used with --input-file") }
        if server != nil && inputFile != nil { throw ValidationError("--server cannot be used with --input-file") }
        let tlsFiles = [tlsCaCertFiles, tlsClientCertFile, tlsClientKeyFile, tlsServerName]
        if !tls && tlsFiles.contains(where: { $0 != nil }) { throw ValidationError("--tls-* options need --tls") }
        if tls && server == nil { throw ValidationError("--tls needs --server") }
        if (tlsClientCertFile == nil) != (tlsClientKeyFile == nil) {
            throw ValidationError("--tls-client-cert-file and --tls-client-key-file go together")
        }
        let tlsOptions =
            tls
            ? ObserverClient.TLSOptions(
                caFile: tlsCaCertFiles, certificateFile: tlsClientCertFile, keyFile: tlsClientKeyFile,
                serverName: tlsServerName) : nil
        var arguments = filterArguments
        if arguments.first == "flows" { arguments.removeFirst() }
        let (whitelist, blacklist) = try Observe.parseFilters(arguments)
        let now = Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: SystemClock.realtimeNs()))
        let window = try TimeWindow(since: since, until: until, now: now)
        var printer = Printer(
            format: format, timeFormat: layout, printNodeName: printNodeName, printPolicyNames: printPolicyNames)
        let selection = Selection(
            last: last, first: first, all: all, follow: follow, timeBounded: since != nil || until != nil)

        if let inputFile {
            let flows = try Observe.readExported(inputFile)
            let matching = flows.filter { window.contains($0) && Observe.passes($0, whitelist, blacklist) }
            for flow in selection.pick(matching) { printer.emit(flow) }
            printer.finish()
            return
        }

        if let server {
            return try Observe.remote(
                server, tls: tlsOptions, selection: selection, window: window, printer: &printer, whitelist, blacklist)
        }

        let (pins, agentState) = try nodeDirectories()
        let ring = try FlowRing.openForReading(pinDirectory: pins)
        let seed = FlowRing.uuidSeed(pinDirectory: pins)
        var directory = Observe.loadDirectory(stateDirectory: agentState)
        let offset = Int64(bitPattern: SystemClock.realtimeNs() &- SystemClock.monotonicNs())
        func flow(_ rec: sluice_flow, seq: UInt64) -> Flow {
            var flow = Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: offset)
            flow.uuid = FlowUUID.make(seed: seed, seq: seq)
            flow.emitter = .sluice
            return flow
        }
        func lost(_ count: UInt64) -> LostEvent {
            LostEvent(
                source: .hubbleRingBuffer, count: count, nodeName: directory.nodeName,
                time: Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: SystemClock.realtimeNs())))
        }
        var cursor = FlowCursor.oldest(in: ring)
        if selection.followOnly {
            cursor = FlowCursor(seq: ring.nextSeq)
        } else {
            // The records in the ring now; those overwritten while this reader copies them are
            // reported once, before the flows (hubble's EVENTS LOST).
            let end = ring.nextSeq
            var matching: [Flow] = []
            var lostCount: UInt64 = 0
            // A half-written record resolves within the cursor's pending timeout (read, or lost).
            while cursor.seq < end {
                switch cursor.next(in: ring, nowNs: SystemClock.monotonicNs()) {
                case .record(let seq, let rec):
                    let f = flow(rec, seq: seq)
                    if window.contains(f), Observe.passes(f, whitelist, blacklist) { matching.append(f) }
                case .lost(let count):
                    lostCount += count
                case .idle:
                    usleep(1_000)
                }
            }
            if lostCount > 0 { printer.emit(lost(lostCount)) }
            for f in selection.pick(matching) { printer.emit(f) }
        }
        printer.finish()
        guard follow else { return }
        fflush(stdout)
        var lostCount: UInt64 = 0
        while true {
            if cursor.seq < ring.nextSeq { directory = Observe.loadDirectory(stateDirectory: agentState) }
            reading: while true {
                switch cursor.next(in: ring, nowNs: SystemClock.monotonicNs()) {
                case .record(let seq, let rec):
                    if lostCount > 0 {
                        printer.emit(lost(lostCount))
                        lostCount = 0
                    }
                    let f = flow(rec, seq: seq)
                    if window.contains(f), Observe.passes(f, whitelist, blacklist) { printer.emit(f) }
                case .lost(let count):
                    lostCount += count
                case .idle:
                    break reading
                }
            }
            if lostCount > 0 {
                printer.emit(lost(lostCount))
                lostCount = 0
            }
            fflush(stdout)
            if let end = window.until, now.seconds < end.seconds,
                Flow.Timestamp(
                    nanosecondsSinceEpoch: Int64(bitPattern: SystemClock.realtimeNs())) > end
            {
                return
            }
            usleep(50_000)
        }
    }

    /// `-o` values (hubble's, `tab` being its alias of `table`).
    enum OutputFormat: String {
        case compact, dict, json, jsonpb, table, tab
    }

    /// Prints flows (and lost events) one at a time; `table` collects rows and prints at `finish` (tabwriter's
    /// alignment).
    struct Printer {
        let format: OutputFormat
        let timeFormat: TimeFormat
        let printNodeName: Bool
        let printPolicyNames: Bool
        var printed = 0
        var table: [[String]] = []

        init(format: OutputFormat, timeFormat: TimeFormat, printNodeName: Bool, printPolicyNames: Bool = false) {
            self.format = format
            self.timeFormat = timeFormat
            self.printNodeName = printNodeName
            self.printPolicyNames = printPolicyNames
        }

        mutating func emit(_ flow: Flow) {
            switch format {
            case .json, .jsonpb: print(FlowPrinter.json(flow))
            case .dict:
                if printed > 0 { print(FlowPrinter.dictSeparator) }
                print(
                    FlowPrinter.dict(
                        flow, printNodeName: printNodeName, timeFormat: timeFormat, printPolicyNames: printPolicyNames))
            case .table, .tab:
                table.append(
                    FlowPrinter.tableRow(
                        flow, printNodeName: printNodeName, timeFormat: timeFormat, printPolicyNames: printPolicyNames))
            case .compact:
                print(
                    FlowPrinter.compact(
                        flow, printNodeName: printNodeName, timeFormat: timeFormat, printPolicyNames: printPolicyNames))
            }
            printed += 1
        }

        /// hubble's lost-events record: `EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) 42`, or its dict, table or JSON form.
        mutating func emit(_ lost: LostEvent) {
            switch format {
            case .json, .jsonpb: print(FlowPrinter.json(lost))
            case .dict:
                if printed > 0 { print(FlowPrinter.dictSeparator) }
                print(FlowPrinter.dict(lost, printNodeName: printNodeName))
            case .table, .tab: table.append(FlowPrinter.tableRow(lost, printNodeName: printNodeName))
            case .compact: print(FlowPrinter.compact(lost))
            }
            printed += 1
        }

        mutating func finish() {
            if !table.isEmpty {
                for line in TextTable.align([FlowPrinter.tableHeader(printNodeName: printNodeName)] + table) {
                    print(line)
                }
            }
            table = []
        }
    }

    /// Which of the matching flows are printed: hubble's `--first`, `--last` (20 by default), `--all`.
    struct Selection {
        let last: Int?
        let first: Int?
        let all: Bool
        let follow: Bool
        let timeBounded: Bool

        /// `--follow` alone: only new flows.
        var followOnly: Bool { follow && last == nil && first == nil && !all && !timeBounded }

        func pick(_ flows: [Flow]) -> ArraySlice<Flow> {
            if let first { return flows.prefix(max(0, first)) }
            if let last { return flows.suffix(max(0, last)) }
            if all || timeBounded || follow { return flows[...] }
            return flows.suffix(20)
        }
    }

    /// `--since` / `--until`.
    struct TimeWindow {
        var since: Flow.Timestamp?
        var until: Flow.Timestamp?

        init(since: String?, until: String?, now: Flow.Timestamp) throws {
            if let since {
                guard let t = ObserveTime.parse(since, now: now) else {
                    throw ValidationError("invalid --since value: \(since) (a duration like 1m or 2h30m, or RFC 3339)")
                }
                self.since = t
            }
            if let until {
                guard let t = ObserveTime.parse(until, now: now) else {
                    throw ValidationError("invalid --until value: \(until) (a duration like 1m or 2h30m, or RFC 3339)")
                }
                self.until = t
            }
            if let s = self.since, let u = self.until, u < s {
                throw ValidationError("--until must be after --since")
            }
        }

        func contains(_ f: Flow) -> Bool {
            if let since, f.time < since { return false }
            if let until, until < f.time { return false }
            return true
        }
    }

    /// Exported JSON lines (a file, or stdin for `-`); lines that are not flows are reported on stderr and skipped.
    static func readExported(_ path: String) throws -> [Flow] {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw ValidationError("cannot read \(path)")
            }
            data = contents
        }
        var flows: [Flow] = []
        for (n, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            do {
                if let flow = try Flow.fromJSON(text) { flows.append(flow) }
            } catch {
                FileHandle.standardError.write(
                    Data("warning: \(path == "-" ? "stdin" : path):\(n + 1): \(error)\n".utf8))
            }
        }
        return flows
    }

    /// Hubble's rule: a flow is shown when it passes the whitelist and the (negated) blacklist.
    static func passes(_ flow: Flow, _ whitelist: FlowFilter, _ blacklist: FlowFilter) -> Bool {
        if !whitelist.isEmpty && !whitelist.matches(flow) { return false }
        if !blacklist.isEmpty && !blacklist.matches(flow) { return false }
        return true
    }

    static let shortOptions: [String: FlowFilter.Option] = [
        "-n": .namespace, "-t": .type, "-A": .allNamespaces, "-l": .label, "-4": .ipv4, "-6": .ipv6,
    ]

    /// Builds the whitelist filter and the `--not` blacklist entries from the raw arguments, in
    /// order (ArgumentParser does not keep the order `--not` needs).
    static func parseFilters(_ args: [String]) throws -> (FlowFilter, FlowFilter) {
        var whitelist = FlowFilter()
        var blacklist = FlowFilter(negated: true)
        var negateNext = false
        var i = 0
        while i < args.count {
            var arg = args[i]
            var value: String?
            if let eq = arg.firstIndex(of: "="), arg.hasPrefix("--") {
                value = String(arg[arg.index(after: eq)...])
                arg = String(arg[..<eq])
            }
            if arg == "--not" {
                negateNext = true
                i += 1
                continue
            }
            let option: FlowFilter.Option?
            if let short = shortOptions[arg] {
                option = short
            } else if arg.hasPrefix("--") {
                option = FlowFilter.Option(rawValue: String(arg.dropFirst(2)))
            } else {
                option = nil
            }
            guard let option else { throw ValidationError("unknown flag or argument: \(args[i])") }
            if !option.takesValue {
                if value != nil { throw ValidationError("\(arg) takes no value") }
                value = ""
            } else if value == nil {
                guard i + 1 < args.count else { throw ValidationError("\(arg) needs a value") }
                value = args[i + 1]
                i += 1
            }
            do {
                if negateNext {
                    try blacklist.add(option, value ?? "")
                    negateNext = false
                } else {
                    try whitelist.add(option, value ?? "")
                }
            } catch {
                throw ValidationError(error.description)
            }
            i += 1
        }
        if negateNext { throw ValidationError("trailing --not found in the arguments") }
        return (whitelist, blacklist)
    }

    /// Endpoint names and labels from the agent's `endpoints.json`, DNS names of addresses from
    /// its toFQDNs cache `fqdn.json` (written within a second of a change).
    static func loadDirectory(stateDirectory: String = Paths.agentState) -> EndpointDirectory {
        let path = stateDirectory + "/endpoints.json"
        var directory = EndpointDirectory(file: EndpointDirectory.File(nodeName: "", endpoints: [], identities: []))
        if let data = FileManager.default.contents(atPath: path),
            let file = try? JSONDecoder().decode(EndpointDirectory.File.self, from: data)
        {
            directory = EndpointDirectory(file: file)
        }
        if let data = FileManager.default.contents(atPath: stateDirectory + "/fqdn.json"),
            let names = EndpointDirectory.namesFromFQDNCache(json: Array(data))
        {
            directory = directory.withNames(names)
        }
        return directory
    }
}

extension Observe {
    /// `--server`: the same selection, filters and output over a node's Observer API. The server
    /// sends every kept flow in the time window (`since`/`until` travel in the request); the
    /// filters and `--first`/`--last` apply here, as they do locally, so both print the same
    /// lines. `--follow` then opens a second stream of new flows only, skipping the uuids the
    /// first one already printed.
    static func remote(
        _ server: String, tls: ObserverClient.TLSOptions?, selection: Selection, window: TimeWindow,
        printer: inout Printer,
        _ whitelist: FlowFilter, _ blacklist: FlowFilter
    ) throws {
        guard let (host, port) = ObserverClient.address(server) else {
            throw ValidationError("invalid --server value: \(server) (HOST[:PORT], HOST an IPv4 address or localhost)")
        }
        let client = try ObserverClient(host: host, port: port, timeoutMs: selection.follow ? -1 : 30_000, tls: tls)
        var request = GetFlowsRequest()
        request.since = window.since
        request.until = window.until
        var seen = Set<String>()
        if !selection.followOnly {
            var matching: [Flow] = []
            try client.flows(request) { event in
                switch event {
                case .flow(let f):
                    seen.insert(f.uuid)
                    if window.contains(f), passes(f, whitelist, blacklist) { matching.append(f) }
                case .lost(let lost): printer.emit(lost)
                case .other: break
                }
                return true
            }
            for f in selection.pick(matching) { printer.emit(f) }
        }
        printer.finish()
        guard selection.follow else { return }
        fflush(stdout)
        request.follow = true
        try client.flows(request) { event in
            switch event {
            case .flow(let f) where !seen.contains(f.uuid):
                if window.contains(f), passes(f, whitelist, blacklist) { printer.emit(f) }
            case .lost(let lost): printer.emit(lost)
            default: break
            }
            fflush(stdout)
            return true
        }
    }
}
