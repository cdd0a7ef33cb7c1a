import ArgumentParser
import Datapath
import Flows
import Foundation

/// `sluice observe`: reads the pinned flow map like `hubble observe` reads Hubble's ring.
struct Observe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print flows from the flow map (Hubble's `observe`).",
        discussion: """
            Filters, as in `hubble observe` (values of one flag are ORed, different flags ANDed; `--not` \
            makes the next filter a blacklist entry): --verdict, --drop-reason-desc, -n/--namespace, \
            --from-namespace, --to-namespace, --pod, --from-pod, --to-pod (a [ns/]name prefix), --label, \
            --from-label, --to-label, --ip, --from-ip, --to-ip, --port, --from-port, --to-port, --identity, \
            --from-identity, --to-identity, -t/--type (l7, drop, policy-verdict, trace), --protocol \
            (tcp, udp, http, dns), --http-method, --http-path, --http-url, --http-status, --traffic-direction, \
            --fqdn, --from-fqdn, --to-fqdn (names learned by the DNS proxy; `*` matches any run of name characters).
            """)

    @Option(help: "Print the last N flows (default 20 unless --follow, --all or --first).")
    var last: Int?
    @Option(help: "Print the first N flows still in the map.")
    var first: Int?
    @Flag(help: "Print every flow still in the map.")
    var all = false
    @Flag(name: .shortAndLong, help: "Keep printing new flows.")
    var follow = false
    @Option(name: .shortAndLong, help: "Output: compact, json, jsonpb, dict.")
    var output: String = "compact"
    @Flag(help: "Print the node name in compact output.")
    var printNodeName = false
    @Argument(parsing: .allUnrecognized, help: "Filters (see above).")
    var filterArguments: [String] = []

    func run() throws {
        let (whitelist, blacklist) = try Observe.parseFilters(filterArguments)
        let ring = try FlowRing.openForReading(pinDirectory: Paths.pinDirectory)
        let directory = Observe.loadDirectory()
        let offset = Int64(bitPattern: Clock.realtime() &- Clock.monotonic())
        let next = ring.nextSeq
        let oldest = next > FlowRing.capacity ? next - FlowRing.capacity : 0

        var seq: UInt64
        var limit: Int? = nil
        if all {
            seq = oldest
        } else if let first {
            seq = oldest
            limit = first
        } else if follow && last == nil {
            seq = next
        } else {
            seq = oldest
            limit = nil
        }
        var printed = 0
        // --last N: collect the matching flows, print the final N.
        if !all && first == nil && !(follow && last == nil) {
            let n = last ?? 20
            var window: [Flow] = []
            while seq < next {
                if let rec = ring.read(seq: seq) {
                    let flow = Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: offset)
                    if Observe.passes(flow, whitelist, blacklist) {
                        window.append(flow)
                        if window.count > n { window.removeFirst() }
                    }
                }
                seq += 1
            }
            for flow in window { emit(flow) }
        } else {
            while seq < next, limit.map({ printed < $0 }) ?? true {
                if let rec = ring.read(seq: seq) {
                    let flow = Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: offset)
                    if Observe.passes(flow, whitelist, blacklist) {
                        emit(flow)
                        printed += 1
                    }
                }
                seq += 1
            }
        }
        guard follow else { return }
        fflush(stdout)
        while true {
            let head = ring.nextSeq
            if head - seq > FlowRing.capacity { seq = head - FlowRing.capacity }
            var directory = directory
            if seq < head { directory = Observe.loadDirectory() }
            while seq < head {
                if let rec = ring.read(seq: seq) {
                    let flow = Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: offset)
                    if Observe.passes(flow, whitelist, blacklist) { emit(flow) }
                }
                seq += 1
            }
            fflush(stdout)
            usleep(50_000)
        }
    }

    private func emit(_ flow: Flow) {
        switch output {
        case "json", "jsonpb": print(FlowPrinter.json(flow))
        case "dict": print(FlowPrinter.dict(flow, printNodeName: printNodeName))
        default: print(FlowPrinter.compact(flow, printNodeName: printNodeName))
        }
    }

    /// Hubble's rule: a flow is shown when it passes the whitelist and the (negated) blacklist.
    static func passes(_ flow: Flow, _ whitelist: FlowFilter, _ blacklist: FlowFilter) -> Bool {
        if !whitelist.isEmpty && !whitelist.matches(flow) { return false }
        if !blacklist.isEmpty && !blacklist.matches(flow) { return false }
        return true
    }

    static let shortOptions: [String: FlowFilter.Option] = ["-n": .namespace, "-t": .type]

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
            if value == nil {
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
        return (whitelist, blacklist)
    }

    /// Endpoint names and labels from the agent's `endpoints.json`, DNS names of addresses from
    /// its toFQDNs cache `fqdn.json` (written within a second of a change).
    static func loadDirectory() -> EndpointDirectory {
        let path = Paths.agentState + "/endpoints.json"
        var directory = EndpointDirectory(file: EndpointDirectory.File(nodeName: "", endpoints: [], identities: []))
        if let data = FileManager.default.contents(atPath: path),
           let file = try? JSONDecoder().decode(EndpointDirectory.File.self, from: data) {
            directory = EndpointDirectory(file: file)
        }
        if let data = FileManager.default.contents(atPath: Paths.agentState + "/fqdn.json"),
           let names = EndpointDirectory.namesFromFQDNCache(json: Array(data)) {
            directory = directory.withNames(names)
        }
        return directory
    }
}

enum Clock {
    static func realtime() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func monotonic() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
