extension Flow {
    /// The `l4` block: a oneof of `TCP`, `UDP`, `ICMPv4`, `ICMPv6` and `SCTP` (flow.proto Layer4).
    public enum Layer4: Sendable, Equatable {
        case tcp(TCP)
        case udp(UDP)
        case icmpv4(ICMP)
        case icmpv6(ICMP)
        case sctp(SCTP)

        /// `source_port` and `destination_port`; nil for ICMP, which has none.
        public var ports: Ports? {
            switch self {
            case .tcp(let t): Ports(sourcePort: t.sourcePort, destinationPort: t.destinationPort)
            case .udp(let p), .sctp(let p): p
            case .icmpv4, .icmpv6: nil
            }
        }

        /// `source_port`; nil for ICMP.
        public var sourcePort: UInt16? { ports?.sourcePort }

        /// `destination_port`; nil for ICMP.
        public var destinationPort: UInt16? { ports?.destinationPort }

        /// The protocol as Hubble names it in metrics labels and the service map (`TCP`, `UDP`,
        /// `ICMPv4`, `ICMPv6`, `SCTP`).
        public var protocolName: String {
            switch self {
            case .tcp: "TCP"
            case .udp: "UDP"
            case .icmpv4: "ICMPv4"
            case .icmpv6: "ICMPv6"
            case .sctp: "SCTP"
            }
        }
    }

    /// `ICMPv4` / `ICMPv6`: type and code.
    public struct ICMP: Sendable, Equatable {
        /// `type`.
        public var type: UInt8
        /// `code`.
        public var code: UInt8

        /// Creates the block.
        public init(type: UInt8, code: UInt8 = 0) {
            self.type = type
            self.code = code
        }
    }

    /// `UDP` and `SCTP`: ports (the two messages have the same fields).
    public struct Ports: Sendable, Equatable {
        /// `source_port`.
        public var sourcePort: UInt16
        /// `destination_port`.
        public var destinationPort: UInt16

        /// Creates the block.
        public init(sourcePort: UInt16, destinationPort: UInt16) {
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
        }
    }

    /// `SCTP`: ports.
    public typealias SCTP = Ports

    /// `TCP`: ports and, on L3/L4 flows, the header flags (L7 flows carry ports only).
    public struct TCP: Sendable, Equatable {
        /// `source_port`.
        public var sourcePort: UInt16
        /// `destination_port`.
        public var destinationPort: UInt16
        /// `flags`; nil means the message has no `flags` field at all.
        public var flags: TCPFlags?

        /// Creates the block.
        public init(sourcePort: UInt16, destinationPort: UInt16, flags: TCPFlags? = nil) {
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
            self.flags = flags
        }
    }

    /// `UDP`: ports.
    public typealias UDP = Ports

    /// `TCPFlags`, stored as the TCP header's flag byte (FIN = 0x01 ... CWR = 0x80, as `SLUICE_TCP_*`).
    public struct TCPFlags: OptionSet, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let fin = TCPFlags(rawValue: 0x01)
        public static let syn = TCPFlags(rawValue: 0x02)
        public static let rst = TCPFlags(rawValue: 0x04)
        public static let psh = TCPFlags(rawValue: 0x08)
        public static let ack = TCPFlags(rawValue: 0x10)
        public static let urg = TCPFlags(rawValue: 0x20)
        public static let ece = TCPFlags(rawValue: 0x40)
        public static let cwr = TCPFlags(rawValue: 0x80)

        /// Flags in flow.proto declaration order with their field names (used for JSON).
        static let protoOrder: [(TCPFlags, String)] = [
            (.fin, "FIN"), (.syn, "SYN"), (.rst, "RST"), (.psh, "PSH"), (.ack, "ACK"), (.urg, "URG"),
            (.ece, "ECE"), (.cwr, "CWR"),
        ]

        /// Flags in the order Cilium's L3/L4 parser lists them in summaries (`getTCPFlags`).
        static let summaryOrder: [(TCPFlags, String)] = [
            (.syn, "SYN"), (.ack, "ACK"), (.rst, "RST"), (.fin, "FIN"), (.psh, "PSH"), (.urg, "URG"),
            (.ece, "ECE"), (.cwr, "CWR"),
        ]

        /// The set flags joined the way Cilium writes them in a summary: `SYN, ACK`.
        public var summaryText: String {
            Self.summaryOrder.filter { contains($0.0) }.map(\.1).joined(separator: ", ")
        }
    }
}

extension Flow.Layer4 {
    /// The `ICMPv6` variant.
    var isICMPv6: Bool {
        if case .icmpv6 = self { return true }
        return false
    }
}
