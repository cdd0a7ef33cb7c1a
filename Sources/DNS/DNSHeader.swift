/// The fixed header of a message (RFC 1035 4.1.1) with the flags decomposed. Section counts are
/// not stored: the serializer derives them from the sections.
public struct DNSHeader: Hashable, Sendable {
    public var id: UInt16
    /// QR: true for a response.
    public var qr: Bool
    /// OPCODE, 4 bits (0 = QUERY).
    public var opcode: UInt8
    /// AA: authoritative answer.
    public var aa: Bool
    /// TC: truncated.
    public var tc: Bool
    /// RD: recursion desired.
    public var rd: Bool
    /// RA: recursion available.
    public var ra: Bool
    /// The reserved Z bit, kept so a message round-trips bit for bit.
    public var z: Bool
    /// AD: authentic data (RFC 4035 3.2.3).
    public var ad: Bool
    /// CD: checking disabled (RFC 4035 3.2.2).
    public var cd: Bool
    /// The full response code: the header's 4 bits plus, when the message has an OPT record,
    /// its 8 extended bits. The serializer splits it back.
    public var rcode: RCode

    public init(
        id: UInt16 = 0, qr: Bool = false, opcode: UInt8 = 0, aa: Bool = false, tc: Bool = false,
        rd: Bool = false, ra: Bool = false, z: Bool = false, ad: Bool = false, cd: Bool = false,
        rcode: RCode = .noError
    ) {
        self.id = id
        self.qr = qr
        self.opcode = opcode & 0x0F
        self.aa = aa
        self.tc = tc
        self.rd = rd
        self.ra = ra
        self.z = z
        self.ad = ad
        self.cd = cd
        self.rcode = rcode
    }

    /// Decodes ID and flags from the first four header bytes; `rcode` holds only the header bits.
    init(id: UInt16, flags: UInt16) {
        let high = UInt8(flags >> 8)
        let low = UInt8(flags & 0xFF)
        self.init(
            id: id, qr: high & 0x80 != 0, opcode: (high >> 3) & 0x0F, aa: high & 0x04 != 0,
            tc: high & 0x02 != 0, rd: high & 0x01 != 0, ra: low & 0x80 != 0, z: low & 0x40 != 0,
            ad: low & 0x20 != 0, cd: low & 0x10 != 0, rcode: RCode(UInt16(low & 0x0F)))
    }

    /// The 16-bit flags word as written on the wire (only the low 4 bits of `rcode`).
    public var flags: UInt16 {
        var high: UInt8 = (opcode & 0x0F) << 3
        if qr { high |= 0x80 }
        if aa { high |= 0x04 }
        if tc { high |= 0x02 }
        if rd { high |= 0x01 }
        var low: UInt8 = rcode.headerBits
        if ra { low |= 0x80 }
        if z { low |= 0x40 }
        if ad { low |= 0x20 }
        if cd { low |= 0x10 }
        return UInt16(high) << 8 | UInt16(low)
    }
}
