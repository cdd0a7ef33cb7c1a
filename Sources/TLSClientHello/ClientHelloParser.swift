/// Reads a TLS ClientHello from the first bytes of a connection: the record layer
/// (RFC 8446 section 5.1), the handshake header, and of the body only what a policy needs, the
/// `server_name` (RFC 6066 section 3) and ALPN (RFC 7301) extensions, after checking every length.
///
/// Pure and stateless: call `parse` with all bytes received so far, from the connection's first
/// byte, after each read. `.needMore` asks for more; the handshake may be fragmented over several
/// records and the records split anywhere across reads. Work per call is linear in the bytes given
/// and bounded by `ClientHelloLimits`; the input is never modified or kept.
public enum ClientHelloParser {
    /// TLS record content type `handshake`.
    static let handshakeContentType: UInt8 = 22
    /// Handshake message type `client_hello`.
    static let clientHelloType: UInt8 = 1
    /// Longest record payload (2^14, RFC 8446 section 5.1).
    static let maxRecordLength = 16384
    static let serverNameExtension: UInt16 = 0
    static let alpnExtension: UInt16 = 16

    /// Parses `bytes`, the connection's first bytes.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer,
        limits: ClientHelloLimits = .default
    ) -> ClientHelloResult {
        var offset = 0
        var records = 0
        var header: UInt32 = 0
        var headerCount = 0
        var messageTotal: Int?
        var gathered = 0
        var single: Range<Int>?
        var joined: [UInt8]?
        while true {
            let remaining = bytes.count - offset
            if remaining == 0 { return .needMore }
            let contentType = bytes[offset]
            if contentType != handshakeContentType {
                return records == 0 ? .notTLS : .malformed(.interleavedRecord(contentType: contentType))
            }
            if remaining < 2 { return .needMore }
            if bytes[offset + 1] != 3 { return records == 0 ? .notTLS : .malformed(.badRecordVersion) }
            if remaining < 5 { return .needMore }
            let length = Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            if length == 0 || length > maxRecordLength { return .malformed(.badRecordLength(length)) }
            records += 1
            if records > limits.maxRecords { return .malformed(.tooManyRecords) }
            let payloadStart = offset + 5
            let available = min(length, bytes.count - payloadStart)
            // The handshake header may itself be split over records: check it as it arrives.
            var index = payloadStart
            while headerCount < 4 && index < payloadStart + available {
                let byte = bytes[index]
                if headerCount == 0 && byte != clientHelloType {
                    return .malformed(.notClientHello(handshakeType: byte))
                }
                header = header << 8 | UInt32(byte)
                headerCount += 1
                index += 1
            }
            if headerCount == 4 && messageTotal == nil {
                let helloLength = Int(header & 0xFF_FFFF)
                if helloLength > limits.maxHelloLength { return .malformed(.helloTooLarge(helloLength)) }
                messageTotal = 4 + helloLength
            }
            if available < length { return .needMore }
            let recordEnd = payloadStart + length
            if let messageTotal, length > messageTotal - gathered { return .malformed(.trailingHandshakeData) }
            if let first = single {
                if joined == nil { joined = Array(UnsafeRawBufferPointer(rebasing: bytes[first])) }
                joined!.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[payloadStart..<recordEnd]))
            } else {
                single = payloadStart..<recordEnd
            }
            gathered += length
            offset = recordEnd
            guard let messageTotal, gathered == messageTotal else { continue }
            let result: Result<ClientHello, ClientHelloError>
            if let joined {
                result = joined.withUnsafeBytes { message in
                    let body = UnsafeRawBufferPointer(rebasing: message[4...])
                    return Result { () throws(ClientHelloError) in try parseBody(body) }
                }
            } else {
                let body = UnsafeRawBufferPointer(rebasing: bytes[(single!.lowerBound + 4)..<single!.upperBound])
                result = Result { () throws(ClientHelloError) in try parseBody(body) }
            }
            switch result {
            case .success(var hello):
                hello.recordBytes = recordEnd
                return .parsed(hello)
            case .failure(let error):
                return .malformed(error)
            }
        }
    }

    /// Convenience for tests and tools.
    public static func parse(_ bytes: [UInt8], limits: ClientHelloLimits = .default) -> ClientHelloResult {
        bytes.withUnsafeBytes { parse($0, limits: limits) }
    }

    /// Parses a ClientHello body (RFC 8446 section 4.1.2; TLS 1.2 bodies may end before extensions).
    static func parseBody(_ body: UnsafeRawBufferPointer) throws(ClientHelloError) -> ClientHello {
        var reader = ByteReader(body)
        guard let version = reader.u16(), reader.skip(32) else { throw .badLength(.body) }
        guard let sessionIDLength = reader.u8(), sessionIDLength <= 32, reader.skip(Int(sessionIDLength)) else {
            throw .badLength(.sessionID)
        }
        guard let suitesLength = reader.u16(), suitesLength >= 2, suitesLength % 2 == 0,
            reader.skip(suitesLength)
        else {
            throw .badLength(.cipherSuites)
        }
        guard let compressionLength = reader.u8(), compressionLength >= 1, reader.skip(Int(compressionLength)) else {
            throw .badLength(.compressionMethods)
        }
        var hello = ClientHello(serverName: nil, alpnProtocols: [], legacyVersion: UInt16(version), recordBytes: 0)
        if reader.isAtEnd { return hello }
        guard let extensionsLength = reader.u16(), extensionsLength == reader.remaining else {
            throw .badLength(.extensions)
        }
        var seen = Set<UInt16>()
        while !reader.isAtEnd {
            guard let type = reader.u16(), let length = reader.u16(), var data = reader.sub(length) else {
                throw .badLength(.extensionData)
            }
            guard seen.insert(UInt16(type)).inserted else { throw .duplicateExtension(UInt16(type)) }
            switch UInt16(type) {
            case serverNameExtension: hello.serverName = try parseServerNameList(&data)
            case alpnExtension: hello.alpnProtocols = try parseALPN(&data)
            default: break
            }
        }
        return hello
    }

    /// `ServerNameList server_name_list<1..2^16-1>`; one `host_name` at most.
    static func parseServerNameList(_ data: inout ByteReader) throws(ClientHelloError) -> String {
        guard let listLength = data.u16(), listLength >= 1, listLength == data.remaining else {
            throw .badLength(.serverNameList)
        }
        var name: String?
        while !data.isAtEnd {
            guard let type = data.u8() else { throw .badLength(.serverNameList) }
            guard type == 0 else { throw .unknownServerNameType(type) }
            guard let length = data.u16(), let host = data.sub(length) else { throw .badLength(.hostName) }
            guard name == nil else { throw .duplicateServerName }
            name = try ServerNameSyntax.validate(host.rest)
        }
        return name!
    }

    /// `ProtocolNameList protocol_name_list<2..2^16-1>` of `ProtocolName<1..2^8-1>`.
    static func parseALPN(_ data: inout ByteReader) throws(ClientHelloError) -> [String] {
        guard let listLength = data.u16(), listLength >= 2, listLength == data.remaining else {
            throw .badLength(.alpnList)
        }
        var protocols: [String] = []
        while !data.isAtEnd {
            guard let length = data.u8(), length >= 1, let name = data.sub(Int(length)) else {
                throw .badLength(.protocolName)
            }
            protocols.append(String(decoding: name.rest, as: UTF8.self))
        }
        return protocols
    }
}

/// A bounds-checked cursor over a byte buffer: every read returns nil instead of running past the end.
struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }
    var isAtEnd: Bool { position == bytes.count }
    /// The bytes not read yet.
    var rest: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[position...]) }

    mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16() -> Int? {
        guard remaining >= 2 else { return nil }
        defer { position += 2 }
        return Int(bytes[position]) << 8 | Int(bytes[position + 1])
    }

    mutating func skip(_ count: Int) -> Bool {
        guard remaining >= count else { return false }
        position += count
        return true
    }

    /// A reader over the next `count` bytes, which this one skips.
    mutating func sub(_ count: Int) -> ByteReader? {
        guard remaining >= count else { return nil }
        defer { position += count }
        return ByteReader(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)]))
    }
}
