import Glibc
import SluiceModel

/// Prints flows the way `hubble observe` does: `compact` (the default), `dict` and `json` (`FlowPrinter+JSON`).
/// Pure functions of the flow and the options; used by `sluice observe`, off the request path.
public enum FlowPrinter {
    /// The separator `-o dict` prints between two flows.
    public static let dictSeparator = "------------"

    /// One compact line (hubble `pkg/printer`):
    /// `<time>[ [node]]: <src> <srcId> <arrow> <dst> <dstId> <type> <verdict> (<summary>)`.
    ///
    /// Time is Go's `StampMilli` in `timeZone` (default: `localTimeZone`). The arrow is `->` when `is_reply` is
    /// false, `<-` when true (source and destination are then swapped back for printing), `<>` when unknown.
    /// `printPolicyNames` (`--print-policy-names`): a policy-verdict flow's verdict names the policies of its
    /// direction, `ALLOWED BY name (Kind), name (Kind)` (also in dict and table output).
    public static func compact(
        _ f: Flow, timeZone: PrintTimeZone? = nil, printNodeName: Bool = false,
        timeFormat: TimeFormat = .stampMilli, printPolicyNames: Bool = false
    ) -> String {
        var src = host(f.source, address: f.ip?.source, port: f.l4?.sourcePort, names: f.sourceNames)
        var dst = host(
            f.destination, address: f.ip?.destination, port: f.l4?.destinationPort, names: f.destinationNames)
        var srcIdentity = identity(f.source?.identity ?? 0)
        var dstIdentity = identity(f.destination?.identity ?? 0)
        var arrow = "->"
        switch f.isReply {
        case nil:
            arrow = "<>"
        case true?:
            swap(&src, &dst)
            swap(&srcIdentity, &dstIdentity)
            arrow = "<-"
        case false?:
            break
        }
        var line = time(f, timeZone: timeZone, format: timeFormat)
        if printNodeName { line += " [" + f.nodeName + "]" }
        line += ": " + src + " " + srcIdentity + " " + arrow + " " + dst + " " + dstIdentity + " "
        line += flowType(f) + " " + verdict(f, policyNames: printPolicyNames) + " (" + f.summary + ")"
        return line
    }

    /// One `-o dict` block (no trailing newline): `KEY: value` lines, keys right-aligned.
    public static func dict(
        _ f: Flow, timeZone: PrintTimeZone? = nil, printNodeName: Bool = false,
        timeFormat: TimeFormat = .stampMilli, printPolicyNames: Bool = false
    ) -> String {
        var lines = ["  TIMESTAMP: " + time(f, timeZone: timeZone, format: timeFormat)]
        if printNodeName { lines.append("       NODE: " + f.nodeName) }
        lines.append(
            "     SOURCE: " + host(f.source, address: f.ip?.source, port: f.l4?.sourcePort, names: f.sourceNames))
        lines.append(
            "DESTINATION: "
                + host(
                    f.destination, address: f.ip?.destination, port: f.l4?.destinationPort, names: f.destinationNames))
        lines.append("       TYPE: " + flowType(f))
        lines.append("    VERDICT: " + verdict(f, policyNames: printPolicyNames))
        lines.append("    SUMMARY: " + f.summary)
        return lines.joined(separator: "\n")
    }

    /// `-o table` (hubble's tab printer): a header line `TIMESTAMP [NODE] SOURCE DESTINATION TYPE VERDICT SUMMARY`
    /// and one line per flow, columns aligned as Go's `tabwriter` (minimum width 2, padding 3, spaces) aligns
    /// them; no lines at all when there are no flows. Hosts are not swapped for replies (as in dict output).
    public static func table(
        _ flows: [Flow], timeZone: PrintTimeZone? = nil, printNodeName: Bool = false,
        timeFormat: TimeFormat = .stampMilli, printPolicyNames: Bool = false
    ) -> [String] {
        guard !flows.isEmpty else { return [] }
        var rows = [tableHeader(printNodeName: printNodeName)]
        for f in flows {
            rows.append(
                tableRow(
                    f, timeZone: timeZone, printNodeName: printNodeName, timeFormat: timeFormat,
                    printPolicyNames: printPolicyNames))
        }
        return TextTable.align(rows)
    }

    /// The header row of `-o table`.
    public static func tableHeader(printNodeName: Bool = false) -> [String] {
        printNodeName
            ? ["TIMESTAMP", "NODE", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"]
            : ["TIMESTAMP", "SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"]
    }

    /// One flow's row of `-o table` (before alignment: `TextTable.align`).
    public static func tableRow(
        _ f: Flow, timeZone: PrintTimeZone? = nil, printNodeName: Bool = false,
        timeFormat: TimeFormat = .stampMilli, printPolicyNames: Bool = false
    ) -> [String] {
        var row = [time(f, timeZone: timeZone, format: timeFormat)]
        if printNodeName { row.append(f.nodeName) }
        row.append(host(f.source, address: f.ip?.source, port: f.l4?.sourcePort, names: f.sourceNames))
        row.append(
            host(f.destination, address: f.ip?.destination, port: f.l4?.destinationPort, names: f.destinationNames))
        row += [flowType(f), verdict(f, policyNames: printPolicyNames), f.summary]
        return row
    }

    /// The zone Go's `time.Local` would use: `TZ` when set (empty or unknown means UTC), else the system zone
    /// (`/etc/localtime`, UTC when absent) — which is what the C library's `localtime_r` does.
    public static var localTimeZone: PrintTimeZone { .local }

    /// The flow type column: `http-request`, `dns-response proxy`, the drop reason text (`Policy denied`),
    /// `policy-verdict:none INGRESS`, a trace point (`to-proxy`)...
    public static func flowType(_ f: Flow) -> String {
        if let l7 = f.l7 {
            let kind = l7.type.name.lowercased()
            switch l7.record {
            case .http: return "http-" + kind
            case .dns(let dns): return "dns-" + kind + " " + dns.observationSource
            case nil: return "l7-" + kind
            }
        }
        switch f.eventType.type {
        case Flow.EventType.drop:
            return DropReason(rawValue: UInt32(truncatingIfNeeded: f.eventType.subType) & 0xFF).text
        case Flow.EventType.trace:
            return traceObservationPoint(f.eventType.subType)
        case Flow.EventType.policyVerdict:
            return "policy-verdict:" + Flow.policyMatchName(f.policyMatchType) + " " + f.trafficDirection.name
        default:
            return "UNKNOWN"
        }
    }

    // MARK: - Internals

    private static func time(_ f: Flow, timeZone: PrintTimeZone?, format: TimeFormat) -> String {
        let offset = (timeZone ?? localTimeZone).utcOffsetSeconds(atUnixSeconds: Int64(f.time.seconds))
        return format.format(f.time, utcOffsetSeconds: offset)
    }

    private static func verdict(_ f: Flow, policyNames: Bool = false) -> String {
        guard f.eventType.type == Flow.EventType.policyVerdict else { return f.verdict.name }
        switch f.verdict {
        case .forwarded, .redirected:
            return "ALLOWED" + (policyNames ? names(f, f.egressAllowedBy, f.ingressAllowedBy) : "")
        case .dropped, .error:
            return "DENIED" + (policyNames ? names(f, f.egressDeniedBy, f.ingressDeniedBy) : "")
        case .audit: return "AUDITED"
        default: return f.verdict.name
        }
    }

    /// ` BY name (Kind), name (Kind)` of the policies of the flow's direction that have a name and a
    /// kind (hubble's `formatPolicyNames`); "" when there are none.
    private static func names(_ f: Flow, _ egress: [Flow.Policy], _ ingress: [Flow.Policy]) -> String {
        let policies: [Flow.Policy]
        switch f.trafficDirection {
        case .egress: policies = egress
        case .ingress: policies = ingress
        default: return ""
        }
        let named = policies.filter { !$0.kind.isEmpty && !$0.name.isEmpty }.map { $0.name + " (" + $0.kind + ")" }
        return named.isEmpty ? "" : " BY " + named.joined(separator: ", ")
    }

    /// `ns/pod:port`; without a pod name the DNS names (`a.example.com,b.example.com:port`, as
    /// Hubble's printer), else `ip:port` (`[v6]:port`); no port when it is 0.
    private static func host(_ e: FlowEndpoint?, address: String?, port: UInt16?, names: [String]) -> String {
        var name = address ?? ""
        if let e, !e.podName.isEmpty {
            name = e.namespace.isEmpty ? e.podName : e.namespace + "/" + e.podName
        } else if !names.isEmpty {
            name = names.joined(separator: ",")
        }
        guard let port, port != 0 else { return name }
        return (name.contains(":") ? "[" + name + "]" : name) + ":" + String(port)
    }

    /// `(ID:n)`, or `(world)`, `(host)`... for reserved identities.
    private static func identity(_ id: UInt32) -> String {
        if id > 0 && id < ReservedIdentity.firstAllocated {
            return "(" + (ReservedIdentity.name(of: id) ?? String(id)) + ")"
        }
        return "(ID:" + String(id) + ")"
    }

    /// cilium `monitor/api` trace observation point names.
    static let traceObservationPoints = [
        "to-endpoint", "to-proxy", "to-host", "to-stack", "to-overlay", "from-endpoint", "from-proxy", "from-host",
        "from-stack", "from-overlay", "from-network", "to-network",
    ]

    private static func traceObservationPoint(_ subType: Int32) -> String {
        guard subType >= 0, Int(subType) < traceObservationPoints.count else { return String(subType) }
        return traceObservationPoints[Int(subType)]
    }
}

/// The time zone flows are printed in: a fixed UTC offset, or the local zone of the C library
/// (`TZ`, else `/etc/localtime`), asked per timestamp so daylight saving applies.
public enum PrintTimeZone: Sendable, Equatable {
    case fixed(secondsEastOfUTC: Int)
    case local

    /// UTC.
    public static let utc = PrintTimeZone.fixed(secondsEastOfUTC: 0)

    /// The offset from UTC in seconds at `unixSeconds`.
    public func utcOffsetSeconds(atUnixSeconds unixSeconds: Int64) -> Int {
        switch self {
        case .fixed(let seconds):
            return seconds
        case .local:
            var t = time_t(unixSeconds)
            var parts = tm()
            guard localtime_r(&t, &parts) != nil else { return 0 }
            return Int(parts.tm_gmtoff)
        }
    }
}
