/// Why bytes that start like a TLS handshake are not an acceptable ClientHello. Every case
/// is raised before any out-of-bounds read; none carries input bytes.
public enum ClientHelloError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A length field inside the ClientHello, for the named part, runs past its container or
    /// breaks the part's size rules (RFC 8446 section 4.1.2, RFC 6066, RFC 7301).
    public enum Part: String, Sendable {
        case body = "ClientHello body"
        case sessionID = "legacy_session_id"
        case cipherSuites = "cipher_suites"
        case compressionMethods = "legacy_compression_methods"
        case extensions = "extensions"
        case extensionData = "extension_data"
        case serverNameList = "server_name list"
        case hostName = "host_name"
        case alpnList = "ALPN protocol list"
        case protocolName = "ALPN protocol name"
    }

    /// A TLS record length of 0 or above 2^14 (RFC 8446 section 5.1).
    case badRecordLength(Int)
    /// A later record's version does not start with 3 (SSL 3.0 / TLS 1.x).
    case badRecordVersion
    /// A record of another content type arrived before the ClientHello was complete.
    case interleavedRecord(contentType: UInt8)
    /// The ClientHello was fragmented over more records than `ClientHelloLimits.maxRecords`.
    case tooManyRecords
    /// The first handshake message is not a ClientHello (type 1).
    case notClientHello(handshakeType: UInt8)
    /// The ClientHello is longer than `ClientHelloLimits.maxHelloLength`.
    case helloTooLarge(Int)
    /// Bytes follow the ClientHello inside the record that ends it.
    case trailingHandshakeData
    /// A length field of `part` is inconsistent.
    case badLength(Part)
    /// The same extension type appears twice (RFC 8446 section 4.2).
    case duplicateExtension(UInt16)
    /// Two `host_name` entries in one `server_name` list (RFC 6066 section 3).
    case duplicateServerName
    /// A `server_name` entry of a type other than `host_name` (0).
    case unknownServerNameType(UInt8)
    /// A `host_name` of length 0.
    case emptyServerName
    /// A `host_name` that is an IPv4 or IPv6 literal, which RFC 6066 forbids.
    case serverNameIsIPAddress
    /// A `host_name` with bytes outside `[-a-zA-Z0-9_.]`, an empty label or over 253 bytes.
    case invalidServerName

    /// A short static text for logs and flow records.
    public var description: String {
        switch self {
        case .badRecordLength(let length): return "TLS record length \(length) out of range"
        case .badRecordVersion: return "TLS record version is not 3.x"
        case .interleavedRecord(let type): return "TLS record of content type \(type) inside the ClientHello"
        case .tooManyRecords: return "ClientHello fragmented over too many records"
        case .notClientHello(let type): return "first handshake message has type \(type), not ClientHello"
        case .helloTooLarge(let length): return "ClientHello of \(length) bytes is too large"
        case .trailingHandshakeData: return "data after the ClientHello in its record"
        case .badLength(let part): return "bad length in \(part.rawValue)"
        case .duplicateExtension(let type): return "duplicate TLS extension \(type)"
        case .duplicateServerName: return "more than one host_name in server_name"
        case .unknownServerNameType(let type): return "server_name entry of unknown type \(type)"
        case .emptyServerName: return "empty server name"
        case .serverNameIsIPAddress: return "server name is an IP address literal"
        case .invalidServerName: return "invalid server name"
        }
    }
}

/// Size bounds for hostile input.
public struct ClientHelloLimits: Equatable, Sendable {
    /// Longest ClientHello message body accepted (handshake header excluded). Real hellos are
    /// 200 B to 2 KiB; post-quantum key shares stay well under 16 KiB.
    public var maxHelloLength: Int = 16384
    /// Most TLS records the ClientHello may be fragmented over.
    public var maxRecords: Int = 64

    /// 16 KiB over at most 64 records.
    public static let `default` = ClientHelloLimits()
}
