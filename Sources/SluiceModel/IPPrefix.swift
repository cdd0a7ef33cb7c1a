/// An IPv4 prefix (CIDR) with the host bits cleared, as Cilium's `netip.Prefix.Masked()`.
///
/// Text grammar: an `IPv4Address` dotted quad, then optionally `/` and a decimal length 0...32
/// without a leading zero (`/8`, not `/08`). A bare address is a /32 only where the caller allows
/// it (`init?(_:bareAllowed:)`).
public struct IPv4Prefix: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The first address of the prefix, host order, host bits clear.
    public private(set) var address: IPv4Address
    /// The prefix length, 0...32.
    public private(set) var length: UInt8

    /// The prefix of `address`/`length` (length clamped to 32; host bits cleared).
    public init(address: IPv4Address, length: UInt8) {
        self.length = min(length, 32)
        self.address = IPv4Address(hostOrder: address.hostOrder & Self.mask(length: self.length))
    }

    /// Parses `a.b.c.d/n`, or a bare `a.b.c.d` as /32 when `bareAllowed`.
    public init?(_ text: some StringProtocol, bareAllowed: Bool = true) {
        guard let (address, length) = parsePrefix(Substring(text), maxLength: 32, bareAllowed: bareAllowed),
            let v4 = IPv4Address(address)
        else { return nil }
        self.init(address: v4, length: length)
    }

    /// The host-order mask of a prefix length (0 for /0, all ones for /32).
    @inlinable
    public static func mask(length: UInt8) -> UInt32 {
        length == 0 ? 0 : UInt32.max << (32 - UInt32(min(length, 32)))
    }

    /// The host-order mask of this prefix.
    public var mask: UInt32 { Self.mask(length: length) }

    /// Whether `ip` lies in the prefix.
    public func contains(_ ip: IPv4Address) -> Bool {
        ip.hostOrder & mask == address.hostOrder
    }

    /// Whether every address of `self` lies inside `other`.
    public func isInside(_ other: IPv4Prefix) -> Bool {
        length >= other.length && address.hostOrder & other.mask == other.address.hostOrder
    }

    /// `10.0.0.0/8`.
    public var description: String { "\(address)/\(length)" }

    public static func < (lhs: IPv4Prefix, rhs: IPv4Prefix) -> Bool {
        (lhs.address.hostOrder, lhs.length) < (rhs.address.hostOrder, rhs.length)
    }
}

/// An IPv6 prefix (CIDR) with the host bits cleared.
///
/// Text grammar: an `IPv6Address`, then optionally `/` and a decimal length 0...128 without a
/// leading zero.
public struct IPv6Prefix: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the prefix, host bits clear.
    public private(set) var address: IPv6Address
    /// The prefix length, 0...128.
    public private(set) var length: UInt8

    /// The prefix of `address`/`length` (length clamped to 128; host bits cleared).
    public init(address: IPv6Address, length: UInt8) {
        self.length = min(length, 128)
        let highBits = UInt64(min(self.length, 64))
        let lowBits = UInt64(self.length > 64 ? self.length - 64 : 0)
        let highMask: UInt64 = highBits == 0 ? 0 : UInt64.max << (64 - highBits)
        let lowMask: UInt64 = lowBits == 0 ? 0 : UInt64.max << (64 - lowBits)
        self.address = IPv6Address(high: address.high & highMask, low: address.low & lowMask)
    }

    /// Parses `x::/n`, or a bare address as /128 when `bareAllowed`.
    public init?(_ text: some StringProtocol, bareAllowed: Bool = true) {
        guard let (address, length) = parsePrefix(Substring(text), maxLength: 128, bareAllowed: bareAllowed),
            let v6 = IPv6Address(address)
        else { return nil }
        self.init(address: v6, length: length)
    }

    /// `fd00::/8`.
    public var description: String { "\(address)/\(length)" }
}

/// Splits `address/length`; the length is decimal without a leading zero and at most `maxLength`.
private func parsePrefix(_ text: Substring, maxLength: UInt8, bareAllowed: Bool) -> (Substring, UInt8)? {
    guard let slash = text.firstIndex(of: "/") else { return bareAllowed ? (text, maxLength) : nil }
    let digits = text.utf8[text.utf8.index(after: slash)...]
    guard !digits.isEmpty, digits.count <= 3, digits.first != UInt8(ascii: "0") || digits.count == 1 else { return nil }
    var length = 0
    for byte in digits {
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        length = length * 10 + Int(byte - UInt8(ascii: "0"))
    }
    guard length <= Int(maxLength) else { return nil }
    return (text[..<slash], UInt8(length))
}
