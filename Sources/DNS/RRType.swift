/// A resource record type (RFC 1035 3.2.2 and the IANA registry), also used for QTYPE.
///
/// A struct over the raw 16-bit value so unknown types pass through untouched.
public struct RRType: DNSCodePoint, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public static let a = RRType(1)
    public static let ns = RRType(2)
    public static let cname = RRType(5)
    public static let soa = RRType(6)
    public static let ptr = RRType(12)
    public static let hinfo = RRType(13)
    public static let mx = RRType(15)
    public static let txt = RRType(16)
    public static let aaaa = RRType(28)
    public static let srv = RRType(33)
    public static let naptr = RRType(35)
    public static let dname = RRType(39)
    public static let opt = RRType(41)
    public static let ds = RRType(43)
    public static let rrsig = RRType(46)
    public static let nsec = RRType(47)
    public static let dnskey = RRType(48)
    public static let nsec3 = RRType(50)
    public static let svcb = RRType(64)
    public static let https = RRType(65)
    public static let axfr = RRType(252)
    public static let any = RRType(255)
    public static let caa = RRType(257)

    /// The mnemonic Hubble prints (miekg/dns `TypeToString`), or `TYPE<n>` (RFC 3597) for types
    /// without one.
    public var name: String {
        if let known = Self.names[rawValue] { return known }
        return "TYPE\(rawValue)"
    }

    public var description: String { name }

    private static let names: [UInt16: String] = [
        0: "None", 1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
        10: "NULL", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB",
        19: "X25", 20: "ISDN", 21: "RT", 23: "NSAPPTR", 24: "SIG", 25: "KEY", 26: "PX", 27: "GPOS",
        28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA",
        35: "NAPTR", 36: "KX", 37: "CERT", 39: "DNAME", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP",
        45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3",
        51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP", 56: "NINFO", 57: "RKEY", 58: "TALINK",
        59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB",
        65: "HTTPS", 99: "SPF", 100: "UINFO", 101: "UID", 102: "GID", 103: "UNSPEC", 104: "NID",
        105: "L32", 106: "L64", 107: "LP", 108: "EUI48", 109: "EUI64", 249: "TKEY", 250: "TSIG",
        251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA",
        258: "AVC", 260: "AMTRELAY", 32768: "TA", 32769: "DLV",
    ]
}

/// A record class (RFC 1035 3.2.4), also used for QCLASS. For OPT the field is the UDP payload
/// size instead and is exposed through `OPTRecord`.
public struct RRClass: DNSCodePoint, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public static let internet = RRClass(1)
    public static let chaos = RRClass(3)
    public static let hesiod = RRClass(4)
    public static let none = RRClass(254)
    public static let any = RRClass(255)

    /// miekg/dns `ClassToString` mnemonic, or `CLASS<n>`.
    public var description: String {
        switch rawValue {
        case 1: return "IN"
        case 3: return "CH"
        case 4: return "HS"
        case 254: return "NONE"
        case 255: return "ANY"
        default: return "CLASS\(rawValue)"
        }
    }
}
