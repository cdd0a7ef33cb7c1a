/// The L4 protocol of a `toPorts.ports` entry (`protocol`; omitted means ANY), or of an `icmps`
/// field (ICMP, ICMPv6: never written as a `toPorts` protocol).
enum L4Protocol: String, Sendable, Hashable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"
    case any = "ANY"
    case icmp = "ICMP"
    case icmpv6 = "ICMPv6"

    /// IP protocol numbers this covers; ANY means TCP, UDP and SCTP (Cilium api/l4.go), not ICMP.
    var ipProtocols: [UInt8] {
        switch self {
        case .tcp: return [IPProtocol.tcp]
        case .udp: return [IPProtocol.udp]
        case .sctp: return [IPProtocol.sctp]
        case .any: return [IPProtocol.tcp, IPProtocol.udp, IPProtocol.sctp]
        case .icmp: return [IPProtocol.icmp]
        case .icmpv6: return [IPProtocol.icmpv6]
        }
    }

    /// ICMP or ICMPv6: the "port" is an ICMP type.
    var isICMP: Bool { self == .icmp || self == .icmpv6 }

    /// What an L3-only rule (no `toPorts`, no `icmps`) covers: every IP protocol. TCP, UDP, SCTP,
    /// ICMP and ICMPv6 by number, every other protocol (GRE, IGMP, ...) as 0 (Cilium's L3-only
    /// entry is protocol ANY; `sluice_policy_key` in bpf/include/sluice_maps.h).
    static let everyIPProtocol: [UInt8] = [
        IPProtocol.tcp, IPProtocol.udp, IPProtocol.sctp, IPProtocol.icmp, IPProtocol.icmpv6, IPProtocol.other,
    ]
}

/// ICMP types in the policy map: the type with bit 8 set (`SLUICE_ICMP_PORT` in
/// bpf/include/sluice_maps.h; change both), so type 0 (echo reply) is not the any-port wildcard.
/// Cilium puts the bare type in the port field, where its type 0 entry also means "any type";
/// Sluice keeps EchoReply to echo replies.
public enum ICMPType {
    /// The policy port of ICMP type `type`.
    public static func policyPort(_ type: UInt8) -> UInt16 { 0x100 | UInt16(type) }
}

/// A port as written: a number (0 = all ports) or an IANA service name resolved against the
/// pods' named container ports.
enum PortSpec: Hashable, Sendable {
    case number(UInt16)
    case named(String)
}

/// One `toPorts[].ports[]` entry.
struct PortProtocol: Hashable, Sendable {
    var port: PortSpec
    /// Last port of a range (`endPort`); ignored for named ports.
    var endPort: UInt16?
    var proto: L4Protocol

    /// `80/TCP`, `8000-8080/TCP`, `http/ANY`, `0/ANY`.
    var canonical: String {
        switch port {
        case .number(let number):
            if let endPort, endPort > number { return "\(number)-\(endPort)/\(proto.rawValue)" }
            return "\(number)/\(proto.rawValue)"
        case .named(let name):
            return "\(name)/\(proto.rawValue)"
        }
    }
}

/// The L7 part of a port rule. `rules.http: []` (or no `rules`) counts as none: no redirect.
enum L7Rules: Sendable, Equatable {
    case none
    case http([HTTPRule])
    case dns([FQDNSelector])

    var kind: L7Kind? {
        switch self {
        case .none: return nil
        case .http: return .http
        case .dns: return .dns
        }
    }
}

/// One `toPorts[]` entry: ports plus optional L7 rules and TLS server names.
struct PortRule: Sendable, Equatable {
    var ports: [PortProtocol]
    var rules: L7Rules
    /// `serverNames`: the SNI allow-list (empty: no SNI constraint). Never together with L7
    /// rules (Cilium refuses that without `terminatingTLS`).
    var serverNames: [ServerNamePattern] = []
    /// `terminatingTLS` and `originatingTLS`, out of line: two `TLSContext?` inline made every
    /// port rule 184 bytes, most of them never set.
    private var tls: OutOfLine<TLSPair>?

    private struct TLSPair: Sendable, Equatable {
        var terminating: TLSContext?
        var originating: TLSContext?
    }

    init(
        ports: [PortProtocol], rules: L7Rules, serverNames: [ServerNamePattern] = [],
        terminatingTLS: TLSContext? = nil, originatingTLS: TLSContext? = nil
    ) {
        self.ports = ports
        self.rules = rules
        self.serverNames = serverNames
        setTLS(terminatingTLS, originatingTLS)
    }

    /// `terminatingTLS`: the proxy terminates the client's TLS with this secret's certificate.
    var terminatingTLS: TLSContext? {
        get { tls?.value.terminating }
        set { setTLS(newValue, originatingTLS) }
    }
    /// `originatingTLS`: the proxy speaks TLS to the upstream, trusting this secret's CA.
    var originatingTLS: TLSContext? {
        get { tls?.value.originating }
        set { setTLS(terminatingTLS, newValue) }
    }

    private mutating func setTLS(_ terminating: TLSContext?, _ originating: TLSContext?) {
        tls =
            terminating == nil && originating == nil
            ? nil : OutOfLine(TLSPair(terminating: terminating, originating: originating))
    }

    /// The port's interception, when the rule asks for one.
    var interception: TLSInterception? {
        guard terminatingTLS != nil || originatingTLS != nil else { return nil }
        return TLSInterception(terminating: terminatingTLS, originating: originatingTLS, serverNames: serverNames)
    }
}

/// A value kept in a box of its own, immutable: a large field that few policies set (TLS
/// contexts, an interception) costs the structures without it one word instead of its size.
/// Equal when the values are.
final class OutOfLine<Value: Sendable & Equatable>: Sendable, Equatable {
    let value: Value

    init(_ value: Value) { self.value = value }

    static func == (a: OutOfLine, b: OutOfLine) -> Bool { a === b || a.value == b.value }
}
