/// An IPv4 or IPv6 address (an A or AAAA record, a flow's endpoint), stored without allocation.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses IPv4 text, else IPv6 text, each with its one grammar (`IPv4Address`,
    /// `IPv6Address`); nil for anything else.
    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    /// The 4 or 16 wire bytes.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let address): return address.bytes
        case .v6(let address): return address.bytes
        }
    }

    /// The dotted quad, or RFC 5952 text.
    public var description: String {
        switch self {
        case .v4(let address): return address.description
        case .v6(let address): return address.description
        }
    }
}
