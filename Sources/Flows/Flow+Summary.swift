import SluiceModel

extension Flow {
    /// `Summary`, computed the way Cilium's parsers fill it:
    /// - HTTP request `<proto> <METHOD> <url>`; response `<proto> <code> <ms>ms (<METHOD> <url>)`
    ///   (cilium `hubble/parser/seven/http.go`);
    /// - DNS request `DNS Query <name> <qtypes>`; response
    ///   `DNS Answer "<ip,ip>" [CNAMEs: "<c,c>"] TTL: <n> (Proxy <name> <qtypes>)`, or `RCode: <NAME>` in place of
    ///   the answer when rcode is not NOERROR (`seven/dns.go`);
    /// - L3/L4: `TCP Flags: SYN, ACK` for TCP, `UDP`, `SCTP`, `ICMPv4 EchoRequest` (gopacket's type and code
    ///   text), the last decoded layer otherwise (`threefour`): `IPv4`, `IPv6`, `Ethernet`.
    public var summary: String {
        if let l7 {
            switch l7.record {
            case .http(let http): return Self.httpSummary(l7, http)
            case .dns(let dns): return Self.dnsSummary(l7, dns)
            case nil: return ""
            }
        }
        switch l4 {
        case .tcp(let tcp): return "TCP Flags: " + (tcp.flags ?? []).summaryText
        case .udp: return "UDP"
        case .sctp: return "SCTP"
        case .icmpv4(let icmp): return "ICMPv4 " + ICMPNames.v4(icmp)
        case .icmpv6(let icmp): return "ICMPv6 " + ICMPNames.v6(icmp)
        case nil:
            switch ip?.ipVersion {
            case .ipv4: return "IPv4"
            case .ipv6: return "IPv6"
            default: return type == .l3L4 ? "Ethernet" : ""
            }
        }
    }

    private static func httpSummary(_ l7: Layer7, _ http: HTTP) -> String {
        let request = http.method + " " + http.url
        switch l7.type {
        case .response:
            let summary = "\(http.protocol) \(http.code) \(l7.latencyNs / 1_000_000)ms (\(request))"
            guard let error = http.connectionError else { return summary }
            return summary + " " + error.text
        default:
            // A TLS SNI record has no method: `TLS https://api.example.com`, `TLS https://` (no SNI),
            // `TLS ` + nothing for bytes that were not a ClientHello; a failed TLS connection adds
            // why (`TLS https:// downstream EOF`: the client closed before its ClientHello).
            if http.method.isEmpty {
                let summary = http.protocol + " " + http.url
                guard let error = http.connectionError else { return summary }
                return summary + " " + error.text
            }
            return http.protocol + " " + request
        }
    }

    private static func dnsSummary(_ l7: Layer7, _ dns: DNS) -> String {
        let qtypes = dns.qtypes.joined(separator: ",")
        guard l7.type == .response else {
            return "DNS Query \(dns.query) \(qtypes)"
        }
        var answer: String
        if dns.rcode != 0 {
            answer = "RCode: " + DNS.rcodeName(dns.rcode)
        } else {
            answer = goQuoted(dns.ips.joined(separator: ","))
            if !dns.cnames.isEmpty {
                answer += " CNAMEs: " + goQuoted(dns.cnames.joined(separator: ","))
            }
        }
        let source = dns.observationSource == "proxy" ? "Proxy" : "Query"
        let summary = "DNS Answer \(answer) TTL: \(dns.ttl) (\(source) \(dns.query) \(qtypes))"
        guard let error = dns.connectionError else { return summary }
        return summary + " " + error.text
    }

    /// Go's `%q` for the strings that occur here (names and addresses): double quotes, with `"` and `\` escaped and
    /// control bytes written as `\xNN`.
    static func goQuoted(_ s: String) -> String {
        ASCII.quoted(s, controlPrefix: "\\x", shortBF: false, escapeDEL: true)
    }

    static func hex2(_ b: UInt8) -> String { ASCII.hex2(b) }
}
