/// A response code: the 4 header bits, extended to 12 bits by the OPT record (RFC 6891 6.1.3).
public struct RCode: DNSCodePoint, CustomStringConvertible {
    /// The full value, `0...4095`.
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue & 0x0FFF
    }

    public static let noError = RCode(0)
    public static let formErr = RCode(1)
    public static let servFail = RCode(2)
    public static let nxDomain = RCode(3)
    public static let notImp = RCode(4)
    public static let refused = RCode(5)
    public static let yxDomain = RCode(6)
    public static let yxRRSet = RCode(7)
    public static let nxRRSet = RCode(8)
    public static let notAuth = RCode(9)
    public static let notZone = RCode(10)
    public static let badVers = RCode(16)

    /// The 4 bits stored in the header.
    public var headerBits: UInt8 { UInt8(rawValue & 0x0F) }

    /// The 8 bits stored in the OPT record's TTL field.
    public var extendedBits: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 4) }

    /// The long name Hubble's DNS metrics and its `RCode: <name>` summary use (e.g.
    /// "Non-Existent Domain"); `""` for codes without a name.
    public var hubbleName: String {
        Self.hubbleNames[rawValue] ?? ""
    }

    /// The short mnemonic miekg/dns prints (`NOERROR`, `NXDOMAIN`, ...), or `RCODE<n>`.
    public var shortName: String {
        Self.shortNames[rawValue] ?? "RCODE\(rawValue)"
    }

    public var description: String { shortName }

    private static let hubbleNames: [UInt16: String] = [
        0: "No Error", 1: "Format Error", 2: "Server Failure", 3: "Non-Existent Domain",
        4: "Not Implemented", 5: "Query Refused", 6: "Name Exists when it should not",
        7: "RR Set Exists when it should not", 8: "RR Set that should exist does not",
        9: "Server Not Authoritative for zone", 10: "Name not contained in zone",
        16: "TSIG Signature Failure", 17: "Key not recognized", 18: "Signature out of time window",
        19: "Bad TKEY Mode", 20: "Duplicate key name", 21: "Algorithm not supported",
        22: "Bad Truncation", 23: "Bad/missing server cookie",
    ]

    private static let shortNames: [UInt16: String] = [
        0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
        6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADSIG",
        17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG", 22: "BADTRUNC",
        23: "BADCOOKIE",
    ]
}
