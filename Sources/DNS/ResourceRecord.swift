/// One entry of the question section (RFC 1035 4.1.2).
public struct Question: Hashable, Sendable {
    public var name: DomainName
    public var type: RRType
    public var `class`: RRClass

    public init(name: DomainName, type: RRType, class: RRClass = .internet) {
        self.name = name
        self.type = type
        self.class = `class`
    }
}

/// One resource record of the answer, authority or additional section (RFC 1035 4.1.3). OPT is
/// not a `ResourceRecord`: it lives in `DNSMessage.opt`.
public struct ResourceRecord: Hashable, Sendable {
    public var name: DomainName
    /// The record type. For every `RData` case but `.opaque` it is implied by the data; keep the
    /// two consistent when building records (`init(name:class:ttl:rdata:)` does).
    public var type: RRType
    public var `class`: RRClass
    /// TTL in seconds, as received (RFC 2181 8 reads values with the top bit set as 0; that is
    /// left to consumers).
    public var ttl: UInt32
    public var rdata: RData

    public init(name: DomainName, type: RRType, class: RRClass, ttl: UInt32, rdata: RData) {
        self.name = name
        self.type = type
        self.class = `class`
        self.ttl = ttl
        self.rdata = rdata
    }

    /// A record whose type is taken from its data.
    public init(name: DomainName, class: RRClass = .internet, ttl: UInt32, rdata: RData) {
        self.init(name: name, type: rdata.type, class: `class`, ttl: ttl, rdata: rdata)
    }
}
