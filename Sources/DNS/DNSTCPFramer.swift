/// Why a DNS-over-TCP stream cannot be framed (RFC 1035 4.2.2, RFC 7766 8).
public struct DNSFramingError: Error, Equatable, Hashable, Sendable {
    /// The static member's name; the one thing two values compare by.
    private let reason: String

    private init(_ reason: String) {
        self.reason = reason
    }

    /// The length prefix exceeds the framer's maximum.
    public static let messageTooLarge = DNSFramingError("messageTooLarge")
    /// The length prefix is below the 12-byte header size.
    public static let messageTooShort = DNSFramingError("messageTooShort")
}

/// Splits a DNS-over-TCP byte stream into messages: each is preceded by its length as a 16-bit
/// big-endian integer. Incremental: feed bytes as they arrive, then take complete messages.
///
/// Owned by one connection; not thread-safe. After an error the stream is unusable: close it.
public struct DNSTCPFramer {
    /// Largest message accepted.
    public let maxMessageSize: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxMessageSize: Int = DNSLimits.maxMessageSize) {
        self.maxMessageSize = min(max(maxMessageSize, DNSLimits.headerSize), DNSLimits.maxMessageSize)
    }

    /// Bytes received and not yet returned as a message.
    public var bufferedCount: Int { buffer.count - start }

    /// Appends received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeSubrange(..<start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// `append` for an array.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete message without its length prefix, or nil when more bytes are needed.
    /// Throws as soon as a length prefix is out of bounds, before its message arrives.
    public mutating func nextMessage() throws(DNSFramingError) -> [UInt8]? {
        guard bufferedCount >= 2 else { return nil }
        let length = Int(buffer[start]) << 8 | Int(buffer[start + 1])
        guard length >= DNSLimits.headerSize else { throw .messageTooShort }
        guard length <= maxMessageSize else { throw .messageTooLarge }
        guard bufferedCount - 2 >= length else { return nil }
        let message = Array(buffer[start + 2..<start + 2 + length])
        start += 2 + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return message
    }

    /// Appends `bytes` and returns every message now complete.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(DNSFramingError) -> [[UInt8]] {
        append(bytes)
        var messages: [[UInt8]] = []
        while let message = try nextMessage() {
            messages.append(message)
        }
        return messages
    }

    /// `message` with its 2-byte length prefix; nil when it is longer than 65535 bytes.
    public static func frame(_ message: UnsafeRawBufferPointer) -> [UInt8]? {
        guard message.count <= DNSLimits.maxMessageSize else { return nil }
        var framed: [UInt8] = [UInt8(message.count >> 8), UInt8(message.count & 0xFF)]
        framed.reserveCapacity(message.count + 2)
        framed.append(contentsOf: message)
        return framed
    }

    /// `frame` for an array.
    public static func frame(_ message: [UInt8]) -> [UInt8]? {
        message.withUnsafeBytes { frame($0) }
    }
}
