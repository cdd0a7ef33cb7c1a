/// A 16-bit DNS code point (`RRType`, `RRClass`, `RCode`): a struct over the raw value rather
/// than an enum, so values without a name pass through untouched.
public protocol DNSCodePoint: RawRepresentable, Hashable, Sendable where RawValue == UInt16 {
    init(rawValue: UInt16)
}

extension DNSCodePoint {
    /// The code point `rawValue` (`RRType(28)`), as `init(rawValue:)` makes it.
    @inlinable
    public init(_ rawValue: UInt16) {
        self.init(rawValue: rawValue)
    }
}
