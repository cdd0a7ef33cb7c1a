/// The key of one L3/L4 policy map entry (`struct sluice_policy_key` in `bpf/include`): which
/// endpoint, peer identity, port and protocol, in which direction. Identity 0 means any peer,
/// port 0 any port. The protocol is TCP, UDP, SCTP, ICMP or ICMPv6 (whose port is
/// `ICMPType.policyPort(type)`), or 0 for every other protocol (L3-only rules).
public struct PolicyMapKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The endpoint whose policy this is (destination on ingress, source on egress).
    public var endpointID: UInt32
    /// The peer's security identity; 0 = any.
    public var identity: UInt32
    /// The destination port; 0 = any.
    public var port: UInt16
    /// IP protocol number.
    public var proto: UInt8
    /// Direction of the policy.
    public var direction: Direction

    /// Creates a key.
    public init(endpointID: UInt32, identity: UInt32, port: UInt16, proto: UInt8, direction: Direction) {
        self.endpointID = endpointID
        self.identity = identity
        self.port = port
        self.proto = proto
        self.direction = direction
    }

    /// Orders by endpoint, direction, identity, port, protocol.
    public static func < (lhs: PolicyMapKey, rhs: PolicyMapKey) -> Bool {
        (lhs.endpointID, lhs.direction.rawValue, lhs.identity, lhs.port, lhs.proto)
            < (rhs.endpointID, rhs.direction.rawValue, rhs.identity, rhs.port, rhs.proto)
    }

    /// `endpoint 3 INGRESS from 257 80/TCP`, `endpoint 3 EGRESS to * */UDP`, ICMP types as
    /// `type 8/ICMP`.
    public var description: String {
        let peer = identity == 0 ? "*" : String(identity)
        let isICMP = proto == IPProtocol.icmp || proto == IPProtocol.icmpv6
        let portText = port == 0 ? "*" : isICMP ? "type \(port & 0xff)" : String(port)
        let protoText = IPProtocol.name(proto)
        let side = direction == .ingress ? "from" : "to"
        return "endpoint \(endpointID) \(direction) \(side) \(peer) \(portText)/\(protoText)"
    }
}

/// What the datapath does with a packet whose key matches (`enum sluice_policy_action`).
public enum PolicyMapAction: Hashable, Sendable, CustomStringConvertible {
    /// Pass.
    case allow
    /// Drop with `POLICY_DENY` (181): an `ingressDeny`/`egressDeny` rule covers it.
    case deny
    /// Pass through the proxy of this kind (the port has L7 rules).
    case redirect(L7Kind)

    /// `allow`, `deny`, `redirect http`.
    public var description: String {
        switch self {
        case .allow: return "allow"
        case .deny: return "deny"
        case .redirect(let kind): return "redirect \(kind)"
        }
    }
}

/// Whether an (endpoint, direction) has policy and what happens to packets no entry matches
/// (`struct sluice_policy_mode`). An (endpoint, direction) without one has no policy at all.
public struct PolicyEnforcement: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The endpoint.
    public var endpointID: UInt32
    /// The direction some rule selecting the endpoint has.
    public var direction: Direction
    /// True: unmatched packets are dropped (`POLICY_DENIED`, 133). False only when every rule
    /// selecting the endpoint in this direction says `enableDefaultDeny: false`.
    public var defaultDeny: Bool

    /// Orders by endpoint, direction.
    public static func < (lhs: PolicyEnforcement, rhs: PolicyEnforcement) -> Bool {
        (lhs.endpointID, lhs.direction.rawValue) < (rhs.endpointID, rhs.direction.rawValue)
    }

    /// `endpoint 3 INGRESS default-deny` or `... default-allow`.
    public var description: String {
        "endpoint \(endpointID) \(direction) " + (defaultDeny ? "default-deny" : "default-allow")
    }
}

/// One ipcache entry (`struct sluice_ipcache_key`/`_value`): an IPv4 prefix and the identity of
/// the addresses it covers (longest prefix wins).
public struct IPCacheEntry: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The prefix address in network byte order (host bits cleared).
    public var ipv4: UInt32
    /// Prefix length, 0...32.
    public var prefixLength: UInt8
    /// Security identity.
    public var identity: UInt32

    /// Creates an entry.
    public init(ipv4: UInt32, prefixLength: UInt8, identity: UInt32) {
        self.ipv4 = ipv4
        self.prefixLength = prefixLength
        self.identity = identity
    }

    /// Orders by address (as text order of octets), then length.
    public static func < (lhs: IPCacheEntry, rhs: IPCacheEntry) -> Bool {
        (lhs.ipv4.bigEndian, lhs.prefixLength) < (rhs.ipv4.bigEndian, rhs.prefixLength)
    }

    /// `10.244.1.11/32 -> 257`.
    public var description: String {
        let host = ipv4.bigEndian
        return "\(host >> 24).\(host >> 16 & 0xff).\(host >> 8 & 0xff).\(host & 0xff)/\(prefixLength) -> \(identity)"
    }
}

/// The L3/L4 part of a compiled snapshot: policy map entries, enforcement per (endpoint,
/// direction) and the CIDR identities. Built by `PolicyCompiler`; read through
/// `PolicySnapshot+Datapath`.
struct L3L4Policy: Sendable {
    var entries: [PolicyMapKey: PolicyMapAction] = [:]
    /// The policy each entry came from (`PolicyKey.ref`, the `policy_ref` flow records name):
    /// a deny's, else the lowest ref of the allows that wrote it. Entries no policy wrote
    /// (allow-localhost) have none.
    var owners: [PolicyMapKey: UInt32] = [:]
    /// `toFQDNs` egress rules, applied to learned IPs at run time.
    var fqdnRules: [FQDNPolicyRule] = []
    var enforcement: [PolicyEnforcement] = []
    var cidrs = CIDRIdentityTable(rules: [])
    /// Addresses that are the Kubernetes API server (ipcache identity kube-apiserver).
    var kubeAPIServerIPv4: [UInt32] = []
    /// Pods of other nodes: address (network order) to identity, for the ipcache.
    var remoteIPv4: [UInt32: UInt32] = [:]
}

/// One `toFQDNs` egress rule of one endpoint: the selectors and the (port, protocol, action)
/// entries each IP learned for a matching name gets under its FQDN identity.
struct FQDNPolicyRule: Sendable {
    struct Port: Sendable {
        var port: UInt16
        var proto: UInt8
        var action: PolicyMapAction
    }
    var endpointID: UInt32
    var patterns: [FQDNPattern]
    var ports: [Port]
}
