import SluiceModel

/// The data of a resource record, decoded for the types the proxy and its tests need; every
/// other type is kept as raw bytes.
public enum RData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case cname(DomainName)
    case ns(DomainName)
    case ptr(DomainName)
    case mx(preference: UInt16, exchange: DomainName)
    /// Character strings, each at most 255 bytes on the wire.
    case txt([[UInt8]])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DomainName)
    case soa(
        mname: DomainName, rname: DomainName, serial: UInt32, refresh: UInt32, retry: UInt32,
        expire: UInt32, minimum: UInt32)
    /// Any other type, rdata as received (RFC 3597). Names inside are not decompressed, so only
    /// types whose rdata must not be compressed belong here.
    case opaque(type: RRType, bytes: [UInt8])

    /// The record type this data belongs to.
    public var type: RRType {
        switch self {
        case .a: return .a
        case .aaaa: return .aaaa
        case .cname: return .cname
        case .ns: return .ns
        case .ptr: return .ptr
        case .mx: return .mx
        case .txt: return .txt
        case .srv: return .srv
        case .soa: return .soa
        case .opaque(let type, _): return type
        }
    }
}

extension WireReader {
    /// Decodes `length` bytes of rdata of `type` at the cursor and checks that the decoded
    /// fields use exactly that many bytes.
    mutating func readRData(type: RRType, length: Int) throws(DNSParseError) -> RData {
        guard length <= remaining else { throw .truncated }
        let end = offset + length
        let rdata: RData
        switch type {
        case .a:
            guard length == 4 else { throw .badRdata }
            rdata = .a(IPv4Address(hostOrder: try readU32()))
        case .aaaa:
            guard length == 16 else { throw .badRdata }
            let high = try readU64()
            rdata = .aaaa(IPv6Address(high: high, low: try readU64()))
        case .cname:
            rdata = .cname(try readRdataName(end: end))
        case .ns:
            rdata = .ns(try readRdataName(end: end))
        case .ptr:
            rdata = .ptr(try readRdataName(end: end))
        case .mx:
            let preference = try readRdataU16(end: end)
            rdata = .mx(preference: preference, exchange: try readRdataName(end: end))
        case .txt:
            rdata = .txt(try readCharacterStrings(end: end))
        case .srv:
            let priority = try readRdataU16(end: end)
            let weight = try readRdataU16(end: end)
            let port = try readRdataU16(end: end)
            rdata = .srv(priority: priority, weight: weight, port: port, target: try readRdataName(end: end))
        case .soa:
            let mname = try readRdataName(end: end)
            let rname = try readRdataName(end: end)
            guard end - offset == 20 else { throw .badRdata }
            rdata = .soa(
                mname: mname, rname: rname, serial: try readU32(), refresh: try readU32(),
                retry: try readU32(), expire: try readU32(), minimum: try readU32())
        default:
            rdata = .opaque(type: type, bytes: try readBytes(length))
        }
        guard offset == end else { throw .badRdata }
        return rdata
    }

    private mutating func readRdataU16(end: Int) throws(DNSParseError) -> UInt16 {
        guard end - offset >= 2 else { throw .badRdata }
        return try readU16()
    }

    /// A name inside rdata: it may be compressed (RFC 3597 4 allows it on read for the RFC 1035
    /// types; SRV targets are accepted too) but must not run past the rdata.
    private mutating func readRdataName(end: Int) throws(DNSParseError) -> DomainName {
        guard offset < end else { throw .badRdata }
        let name = try readName()
        guard offset <= end else { throw .badRdata }
        return name
    }

    private mutating func readCharacterStrings(end: Int) throws(DNSParseError) -> [[UInt8]] {
        var strings: [[UInt8]] = []
        while offset < end {
            let count = Int(try readU8())
            guard count <= end - offset else { throw .badRdata }
            strings.append(try readBytes(count))
        }
        return strings
    }
}
