/// The answer record types present in a DNS response, as the flow record's `rrtypes_mask` stores them.
public struct DNSAnswerTypes: OptionSet, Sendable, Hashable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// At least one A record.
    public static let a = DNSAnswerTypes(rawValue: 1 << 0)
    /// At least one AAAA record.
    public static let aaaa = DNSAnswerTypes(rawValue: 1 << 1)
    /// At least one CNAME record.
    public static let cname = DNSAnswerTypes(rawValue: 1 << 2)
    /// Some other record type.
    public static let other = DNSAnswerTypes(rawValue: 1 << 3)
}
