/// An IPv4 address. The value is kept as a host-order number; the two byte orders a caller may
/// need have their own names, so nobody has to guess which one an integer is in:
///
/// - `hostOrder`: the number as read (`10.0.1.23` is `0x0A00_0117`); arithmetic, masks, sorting.
/// - `networkOrder`: the integer whose bytes in memory are the address in wire order (the `s_addr`
///   of a `sockaddr_in`, the `__be32` fields of the BPF maps).
/// - `bytes` / `octets`: the four wire bytes, most significant first.
///
/// Text grammar (one parser for the whole tree, the strict one of Go's `netip.ParseAddr` and
/// glibc's `inet_pton`): exactly four decimal octets separated by `.`, each 1 to 3 ASCII digits
/// with value 0...255 and no leading zero (`0` itself is fine, `01` is not: it would be octal to
/// `inet_aton`). No sign, no spaces, no shorthand (`10.1`), no hex. Prints as the dotted quad.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The address as a host-order number (`10.0.1.23` is `0x0A00_0117`).
    public var hostOrder: UInt32

    /// The address whose host-order number is `hostOrder`.
    @inlinable
    public init(hostOrder: UInt32) { self.hostOrder = hostOrder }

    /// The address whose bytes in memory are `networkOrder`'s (a `sockaddr_in`'s `s_addr`).
    @inlinable
    public init(networkOrder: UInt32) { self.hostOrder = UInt32(bigEndian: networkOrder) }

    /// The address `a.b.c.d`.
    @inlinable
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        hostOrder = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// The address of four wire bytes; nil unless there are exactly four.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        hostOrder = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Parses a dotted quad (grammar in the type's comment); nil for anything else.
    public init?(_ text: some StringProtocol) {
        guard let value = Self.parse(Substring(text).utf8) else { return nil }
        hostOrder = value
    }

    /// Parses exactly `utf8` as a dotted quad; the host-order value or nil. Shared with the IPv6
    /// parser's embedded IPv4 tail.
    static func parse(_ utf8: Substring.UTF8View) -> UInt32? {
        var value: UInt32 = 0
        var octets = 0
        var digits = 0
        var octet: UInt32 = 0
        var first: UInt8 = 0
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, octets < 3 else { return nil }
                value = value << 8 | octet
                octets += 1
                digits = 0
                octet = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            if digits == 0 { first = byte } else if first == UInt8(ascii: "0") { return nil }
            digits += 1
            octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
            guard digits <= 3, octet <= 255 else { return nil }
        }
        guard digits > 0, octets == 3 else { return nil }
        return value << 8 | octet
    }

    /// The integer whose in-memory bytes are the address in network (wire) order.
    @inlinable
    public var networkOrder: UInt32 { hostOrder.bigEndian }

    /// The four wire bytes, most significant first.
    public var bytes: [UInt8] {
        [UInt8(hostOrder >> 24), UInt8(hostOrder >> 16 & 0xFF), UInt8(hostOrder >> 8 & 0xFF), UInt8(hostOrder & 0xFF)]
    }

    /// The four octets, most significant first.
    public var octets: (UInt8, UInt8, UInt8, UInt8) {
        (UInt8(hostOrder >> 24), UInt8(hostOrder >> 16 & 0xFF), UInt8(hostOrder >> 8 & 0xFF), UInt8(hostOrder & 0xFF))
    }

    /// The dotted quad.
    public var description: String {
        // Dotted quad written byte by byte (at most 15: a small string, no interpolation).
        String(unsafeUninitializedCapacity: 15) { out in
            var at = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let octet = UInt8(truncatingIfNeeded: hostOrder >> UInt32(shift))
                if octet >= 100 {
                    out[at] = 0x30 + octet / 100
                    at += 1
                }
                if octet >= 10 {
                    out[at] = 0x30 + octet / 10 % 10
                    at += 1
                }
                out[at] = 0x30 + octet % 10
                at += 1
                if shift > 0 {
                    out[at] = UInt8(ascii: ".")
                    at += 1
                }
            }
            return at
        }
    }

    /// Whether the address lies in `base/prefixLength` (0...32; 0 is every address).
    public func isIn(_ base: IPv4Address, prefixLength: Int) -> Bool {
        let mask = IPv4Prefix.mask(length: UInt8(clamping: max(0, min(prefixLength, 32))))
        return hostOrder & mask == base.hostOrder & mask
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool {
        lhs.hostOrder < rhs.hostOrder
    }
}
