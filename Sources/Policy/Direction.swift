import SluiceModel

/// Traffic direction from the point of view of the endpoint whose policy applies, as in Cilium
/// and Hubble (`traffic_direction`), for which a policy is always one or the other. Raw values
/// order policy keys only; the C and Hubble values come from `traffic` (SluiceModel's one mapping).
public enum Direction: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// Toward the selected endpoint; keyed by its own port.
    case ingress = 0
    /// From the selected endpoint; keyed by the destination port.
    case egress = 1

    /// The traffic direction, with its C enum value and Hubble name.
    public var traffic: TrafficDirection { self == .ingress ? .ingress : .egress }

    /// `INGRESS` / `EGRESS`, as Hubble prints it.
    public var description: String { traffic.name }
}

/// The L7 parser a port is redirected to.
public enum L7Kind: UInt8, Sendable, Hashable, CustomStringConvertible {
    /// `rules.http`.
    case http = 1
    /// `rules.dns`.
    case dns = 2
    /// `serverNames` without L7 rules: the proxy reads the TLS ClientHello's SNI and splices the
    /// connection untouched (steered to the same TCP listener as `http`).
    case tls = 3

    /// `http` / `dns` / `tls`.
    public var description: String {
        switch self {
        case .http: return "http"
        case .dns: return "dns"
        case .tls: return "tls"
        }
    }
}

/// One (endpoint, port, protocol, direction) that has L7 rules in some policy, so the datapath
/// must steer it to the proxy.
public struct L7Port: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The endpoint whose policy applies (destination for ingress, source for egress).
    public var endpointID: UInt32
    /// Destination port.
    public var port: UInt16
    /// IP protocol number: 6 TCP, 17 UDP.
    public var proto: UInt8
    /// Direction of the policy.
    public var direction: Direction
    /// Which proxy handles it.
    public var kind: L7Kind

    /// Orders by endpoint, direction, port, protocol.
    public static func < (lhs: L7Port, rhs: L7Port) -> Bool {
        (lhs.endpointID, lhs.direction.rawValue, lhs.port, lhs.proto)
            < (rhs.endpointID, rhs.direction.rawValue, rhs.port, rhs.proto)
    }

    /// `endpoint 12 INGRESS 80/TCP http`.
    public var description: String {
        let name = proto == IPProtocol.tcp ? "TCP" : proto == IPProtocol.udp ? "UDP" : String(proto)
        return "endpoint \(endpointID) \(direction) \(port)/\(name) \(kind)"
    }
}

/// IP protocol numbers used by the policy tables.
public enum IPProtocol {
    /// TCP.
    public static let tcp: UInt8 = 6
    /// UDP.
    public static let udp: UInt8 = 17
    /// SCTP.
    public static let sctp: UInt8 = 132
    /// ICMP.
    public static let icmp: UInt8 = 1
    /// ICMPv6.
    public static let icmpv6: UInt8 = 58
    /// Every protocol not named above, in policy map keys (L3-only rules).
    public static let other: UInt8 = 0

    /// `TCP`, `UDP`, `SCTP`, `ICMP`, `ICMPv6`, `other`, or the number.
    public static func name(_ proto: UInt8) -> String {
        switch proto {
        case tcp: return "TCP"
        case udp: return "UDP"
        case sctp: return "SCTP"
        case icmp: return "ICMP"
        case icmpv6: return "ICMPv6"
        case other: return "other"
        default: return String(proto)
        }
    }
}
