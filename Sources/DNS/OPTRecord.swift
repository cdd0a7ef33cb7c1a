/// The EDNS(0) pseudo-record (RFC 6891 6.1), taken out of the additional section.
public struct OPTRecord: Hashable, Sendable {
    /// Largest UDP payload the sender can reassemble (the CLASS field).
    public var udpPayloadSize: UInt16
    /// Upper 8 bits of the 12-bit rcode as received. On write the serializer takes these bits
    /// from `DNSHeader.rcode`, which is authoritative.
    public var extendedRcode: UInt8
    /// EDNS version (0 today).
    public var version: UInt8
    /// DO bit: DNSSEC records wanted (RFC 3225).
    public var dnssecOK: Bool
    /// The other 15 flag bits (must be zero), kept for exact round trips.
    public var zFlags: UInt16
    /// The options (code, length, value ...), raw as on the wire; checked to tile exactly.
    public var options: [UInt8]

    public init(
        udpPayloadSize: UInt16, extendedRcode: UInt8 = 0, version: UInt8 = 0, dnssecOK: Bool = false,
        zFlags: UInt16 = 0, options: [UInt8] = []
    ) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedRcode = extendedRcode
        self.version = version
        self.dnssecOK = dnssecOK
        self.zFlags = zFlags & 0x7FFF
        self.options = options
    }

    /// Decodes the OPT fields from the CLASS and TTL fields and the rdata bytes.
    init(class rawClass: UInt16, ttl: UInt32, options: [UInt8]) throws(DNSParseError) {
        var index = 0
        while index < options.count {
            guard options.count - index >= 4 else { throw .badOPT }
            let length = Int(options[index + 2]) << 8 | Int(options[index + 3])
            guard options.count - index - 4 >= length else { throw .badOPT }
            index += 4 + length
        }
        let flags = UInt16(truncatingIfNeeded: ttl)
        self.init(
            udpPayloadSize: rawClass, extendedRcode: UInt8(truncatingIfNeeded: ttl >> 24),
            version: UInt8(truncatingIfNeeded: ttl >> 16), dnssecOK: flags & 0x8000 != 0,
            zFlags: flags & 0x7FFF, options: options)
    }

    /// The TTL field as written, with `rcode`'s extended bits.
    func ttlField(rcode: RCode) -> UInt32 {
        var flags = zFlags & 0x7FFF
        if dnssecOK { flags |= 0x8000 }
        return UInt32(rcode.extendedBits) << 24 | UInt32(version) << 16 | UInt32(flags)
    }

    /// Bytes the record takes on the wire: root owner, type, class, TTL, rdlength, options.
    var wireSize: Int { 11 + options.count }
}
