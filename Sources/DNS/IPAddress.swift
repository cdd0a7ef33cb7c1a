/// An IP address from an A or AAAA record, stored without allocation.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(V4)
    case v6(V6)

    /// An IPv4 address, network byte order folded into one integer (`10.0.0.1` is `0x0A000001`).
    public struct V4: Hashable, Sendable, CustomStringConvertible {
        public var value: UInt32

        public init(_ value: UInt32) {
            self.value = value
        }

        public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
            self.value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
        }

        /// The 4 wire bytes.
        public var bytes: [UInt8] {
            [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }

        /// Dotted quad.
        public var description: String {
            bytes.map { String($0) }.joined(separator: ".")
        }
    }

    /// An IPv6 address as two big-endian halves.
    public struct V6: Hashable, Sendable, CustomStringConvertible {
        public var high: UInt64
        public var low: UInt64

        public init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }

        /// The 16 wire bytes.
        public var bytes: [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }

        /// The eight 16-bit groups.
        public var groups: [UInt16] {
            (0..<4).map { UInt16(truncatingIfNeeded: high >> (48 - 16 * $0)) }
                + (0..<4).map { UInt16(truncatingIfNeeded: low >> (48 - 16 * $0)) }
        }

        /// RFC 5952 text, as Go's `netip.Addr.String` prints it: lower-case hex, the longest run
        /// of two or more zero groups (the first on a tie) as `::`, `::ffff:a.b.c.d` for
        /// IPv4-mapped addresses.
        public var description: String {
            if high == 0, low >> 32 == 0xFFFF {
                return "::ffff:" + V4(UInt32(truncatingIfNeeded: low)).description
            }
            let groups = groups
            var bestStart = -1
            var bestLength = 1
            var index = 0
            while index < 8 {
                var end = index
                while end < 8, groups[end] == 0 { end += 1 }
                if end - index > bestLength {
                    bestStart = index
                    bestLength = end - index
                }
                index = max(end, index + 1)
            }
            let hex = groups.map { String($0, radix: 16) }
            guard bestStart >= 0 else { return hex.joined(separator: ":") }
            let head = hex[..<bestStart].joined(separator: ":")
            let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
            return head + "::" + tail
        }
    }

    /// The 4 or 16 wire bytes.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let address): return address.bytes
        case .v6(let address): return address.bytes
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): return address.description
        case .v6(let address): return address.description
        }
    }
}
