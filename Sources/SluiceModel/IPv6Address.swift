/// An IPv6 address as two big-endian halves (`high` holds groups 1 to 4, `low` groups 5 to 8),
/// stored without allocation.
///
/// Text grammar (RFC 4291 section 2.2; what Go's `netip.ParseAddr` and `inet_pton` accept, minus
/// zones): eight groups of 1 to 4 hex digits separated by `:`; one `::` may stand for one or more
/// zero groups; the last 32 bits may be written as a dotted quad with `IPv4Address`'s grammar
/// (`::ffff:10.0.0.1`). No zone (`%eth0`), no brackets, no spaces.
///
/// Prints as RFC 5952 section 4 (and Go's `netip.Addr.String`): lower-case hex without leading
/// zeros, the longest run of two or more zero groups (the first on a tie) as `::`, and
/// `::ffff:a.b.c.d` for an IPv4-mapped address.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Groups 1 to 4 (bytes 0 to 7), big-endian.
    public var high: UInt64
    /// Groups 5 to 8 (bytes 8 to 15), big-endian.
    public var low: UInt64

    @inlinable
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The address of 16 wire bytes; nil unless there are exactly sixteen.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.init(high: high, low: low)
    }

    /// The address of eight 16-bit groups; nil unless there are exactly eight.
    public init?(groups: [UInt16]) {
        guard groups.count == 8 else { return nil }
        high = groups[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        low = groups[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    /// `::ffff:a.b.c.d`, the IPv4-mapped form of `v4`.
    public init(mapping v4: IPv4Address) {
        self.init(high: 0, low: 0xFFFF_0000_0000 | UInt64(v4.hostOrder))
    }

    /// Parses IPv6 text (grammar in the type's comment); nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard let groups = Self.parseGroups(Substring(text)) else { return nil }
        self.init(groups: groups)
    }

    private static func parseGroups(_ text: Substring) -> [UInt16]? {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= 45 else { return nil }
        var head: [UInt16] = []
        var tail: [UInt16] = []
        var sawGap = false
        var index = utf8.startIndex
        // A leading `::` is the gap; a lone leading `:` is an error.
        if utf8[index] == UInt8(ascii: ":") {
            let next = utf8.index(after: index)
            guard next < utf8.endIndex, utf8[next] == UInt8(ascii: ":") else { return nil }
            sawGap = true
            index = utf8.index(after: next)
            if index == utf8.endIndex { return [UInt16](repeating: 0, count: 8) }
        }
        while index < utf8.endIndex {
            // One group (or the IPv4 tail), then `:`, `::` or the end.
            var end = index
            var sawDot = false
            while end < utf8.endIndex, utf8[end] != UInt8(ascii: ":") {
                if utf8[end] == UInt8(ascii: ".") { sawDot = true }
                end = utf8.index(after: end)
            }
            let field = utf8[index..<end]
            if sawDot {
                // The dotted-quad tail: last field, room for two groups.
                guard end == utf8.endIndex, let v4 = IPv4Address.parse(field) else { return nil }
                let groups = [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
                if sawGap { tail += groups } else { head += groups }
                index = end
                break
            }
            guard !field.isEmpty, field.count <= 4 else { return nil }
            var group: UInt16 = 0
            for byte in field {
                guard let digit = hexDigit(byte) else { return nil }
                group = group << 4 | UInt16(digit)
            }
            if sawGap { tail.append(group) } else { head.append(group) }
            guard head.count + tail.count <= 8 else { return nil }
            index = end
            guard index < utf8.endIndex else { break }
            index = utf8.index(after: index)  // the `:`
            guard index < utf8.endIndex else { return nil }  // trailing lone `:`
            if utf8[index] == UInt8(ascii: ":") {
                guard !sawGap else { return nil }  // a second `::`
                sawGap = true
                index = utf8.index(after: index)
            }
        }
        let count = head.count + tail.count
        if sawGap {
            guard count <= 7 else { return nil }
            return head + [UInt16](repeating: 0, count: 8 - count) + tail
        }
        return count == 8 ? head : nil
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
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

    /// The IPv4 address of an IPv4-mapped address (`::ffff:a.b.c.d`), else nil.
    public var mappedIPv4: IPv4Address? {
        high == 0 && low >> 32 == 0xFFFF ? IPv4Address(hostOrder: UInt32(truncatingIfNeeded: low)) : nil
    }

    /// RFC 5952 text (see the type's comment).
    public var description: String {
        if let v4 = mappedIPv4 { return "::ffff:" + v4.description }
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

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}
