import Flows
import SluiceModel

/// The text of `sluice status`, `sluice endpoint list`, `sluice identity list` and
/// `sluice fqdn cache list`, in the layout of their cilium-dbg namesakes. Pure functions.
public enum IntrospectionText {
    /// `sluice status`: one `Key:   value` line per item, as `cilium-dbg status` prints them.
    public static func status(_ s: AgentIntrospection) -> [String] {
        let attached = s.endpoints.filter(\.attached).count
        let ingress = s.endpoints.filter { $0.ingressEnforcement == "Enabled" }.count
        let egress = s.endpoints.filter { $0.egressEnforcement == "Enabled" }.count
        let current = min(s.flowsSeen, s.flowRingSize)
        var rows: [[String]] = [
            ["Sluice:", "Ok   \(s.version) (agent up \(duration(s.uptimeSeconds)))"],
            ["Node:", s.nodeName.isEmpty ? "-" : s.nodeName],
            [
                "Datapath:",
                s.datapathAttached ? "Attached (\(attached)/\(s.endpoints.count) endpoints)" : "Not attached",
            ],
            ["Endpoints:", "\(s.endpoints.count) (policy enforced: ingress \(ingress), egress \(egress))"],
            ["Identities:", String(s.identities.count)],
            ["Policies:", String(s.policies.count)],
            ["L7 proxy ports:", s.l7Ports.isEmpty ? "none" : String(s.l7Ports.count)],
            ["Proxy workers:", String(s.proxyWorkers)],
            ["DNS proxy:", s.dnsProxy],
            [
                "Flows:",
                "\(s.flowsPaused == true ? "Paused" : "Ok")   Current/Max Flows: \(current)/\(s.flowRingSize), "
                    + "Flows seen: \(s.flowsSeen)",
            ],
            ["Last apply:", s.lastApply ?? "none since the agent started"],
        ]
        if let p = s.process {
            rows.append(["Open files:", "\(p.openFiles)/\(p.openFileLimit)"])
            rows.append([
                "Connections:",
                "\(p.openConnections)/\(p.connectionCap), accept paused \(p.capPauses)x at the cap, "
                    + "\(p.fileLimitPauses)x on EMFILE/ENFILE, \(p.acceptErrorPauses)x on other errors, "
                    + "\(p.pausedListeners) listener(s) paused now",
            ])
            rows.append([
                "Control socket:",
                "\(p.controlAnswered) answered, \(p.controlRefused) refused (credentials), \(p.controlTimedOut) timed out",
            ])
        }
        if let errors = s.tlsSecretErrors, !errors.isEmpty {
            rows.append(["TLS secrets:", "\(errors.count) cannot be used"])
        }
        var lines = TextTable.align(rows)
        for error in s.tlsSecretErrors ?? [] { lines.append("  error: " + error) }
        for policy in s.policies { lines.append("  " + policy) }
        if !s.l7Ports.isEmpty {
            lines.append("L7 proxy ports:")
            for port in s.l7Ports { lines.append("  " + port) }
        }
        if let kubernetes = s.kubernetes { lines += kubernetes.lines }
        return lines
    }

    /// `1h2m3s`, `4m0s`, `12s` (Go's duration text, whole seconds).
    public static func duration(_ seconds: UInt64) -> String {
        let h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60
        if h > 0 { return "\(h)h\(m)m\(s)s" }
        if m > 0 { return "\(m)m\(s)s" }
        return "\(s)s"
    }

    /// `sluice endpoint list` (cilium-dbg's columns; labels one per line; no IPv6 column values).
    public static func endpoints(_ s: AgentIntrospection) -> [String] {
        var rows: [[String]] = [
            [
                "ENDPOINT", "POLICY (ingress)", "POLICY (egress)", "IDENTITY", "LABELS (source:key[=value])", "IPv6",
                "IPv4", "STATUS",
            ],
            ["", "ENFORCEMENT", "ENFORCEMENT", "", "", "", "", ""],
        ]
        for e in s.endpoints {
            let labels = e.labels.isEmpty ? ["-"] : e.labels
            rows.append([
                String(e.id), e.ingressEnforcement, e.egressEnforcement, String(e.identity), labels[0], "",
                e.ipv4, e.attached ? "ready" : "not-ready",
            ])
            for label in labels.dropFirst() { rows.append(["", "", "", "", label, "", "", ""]) }
        }
        return TextTable.align(rows).map { trimTrailingSpaces($0) }
    }

    /// `sluice identity list`: `ID  LABELS`, further labels on their own lines.
    public static func identities(_ s: AgentIntrospection) -> [String] {
        var rows: [[String]] = [["ID", "LABELS"]]
        for i in s.identities {
            let labels = i.labels.isEmpty ? ["-"] : i.labels
            rows.append([String(i.identity), labels[0]])
            for label in labels.dropFirst() { rows.append(["", label]) }
        }
        return TextTable.align(rows)
    }

    /// `sluice fqdn cache list` from the agent's cache file: one row per (name, address), sorted; the
    /// cache is the node's, so the endpoint column says `all`. `nowNs` is CLOCK_REALTIME (expired entries
    /// waiting for the next sweep are still listed, as cilium-dbg lists zombies separately).
    public static func fqdnCache(_ file: FQDNCacheFile) -> [String] {
        var rows: [[String]] = [["Endpoint", "Source", "FQDN", "TTL", "ExpirationTime", "IPs"]]
        for name in file.names.keys.sorted() {
            let addresses = file.names[name] ?? [:]
            for address in addresses.keys.sorted() {
                guard let item = addresses[address] else { continue }
                let ttl = item.expiresNs > item.lastSeenNs ? (item.expiresNs - item.lastSeenNs) / 1_000_000_000 : 0
                let expires = TimeFormat.rfc3339Milli.format(
                    Flow.Timestamp(nanosecondsSinceEpoch: Int64(clamping: item.expiresNs)), utcOffsetSeconds: 0)
                rows.append(["all", "lookup", name, String(ttl), expires, address])
            }
        }
        return TextTable.align(rows)
    }

    /// `sluice bpf ct list`: one line per tracked connection, like `cilium-dbg bpf ct list global`
    /// (`TCP 10.0.0.1:43210 -> 10.0.0.2:80 age=12s flags=from-pod,closed`); `nowNs` is CLOCK_MONOTONIC.
    public static func conntrack(_ entries: [ConntrackEntry], nowNs: UInt64) -> [String] {
        entries.map { e in
            let age = nowNs > e.createdNs ? (nowNs - e.createdNs) / 1_000_000_000 : 0
            return "\(e.proto) \(e.source):\(e.sourcePort) -> \(e.destination):\(e.destinationPort) age=\(age)s flags="
                + (e.flags.isEmpty ? "none" : e.flags.joined(separator: ","))
        }
    }

    private static func trimTrailingSpaces(_ line: String) -> String {
        var s = Substring(line)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
