/// Protocol Buffers wire format, reading side: a bounds-checked cursor over one message's bytes
/// that hands out fields in order. Every malformed input is a `ProtoError` (never a trap):
/// truncated varints and lengths, varints over 10 bytes, wire types 3/4 (groups) and 6/7.
public struct ProtoReader {
    /// One field as it was on the wire.
    public enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    private let bytes: ArraySlice<UInt8>
    private var index: Int

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    /// The next field (number, value), or nil at the end of the message.
    public mutating func next() throws(ProtoError) -> (field: Int, value: Value)? {
        guard index < bytes.endIndex else { return nil }
        let key = try readVarint()
        let field = key >> 3
        guard field >= 1, field <= 536_870_911 else { throw ProtoError("invalid field number \(field)") }
        switch key & 7 {
        case 0: return (Int(field), .varint(try readVarint()))
        case 1: return (Int(field), .fixed64(try readFixed(8)))
        case 2:
            let length = try readVarint()
            guard length <= UInt64(bytes.endIndex - index) else { throw ProtoError("truncated field \(field)") }
            let start = index
            index += Int(length)
            return (Int(field), .bytes(bytes[start..<index]))
        case 5: return (Int(field), .fixed32(UInt32(truncatingIfNeeded: try readFixed(4))))
        default: throw ProtoError("unsupported wire type \(key & 7) for field \(field)")
        }
    }

    mutating func readVarint() throws(ProtoError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < bytes.endIndex else { throw ProtoError("truncated varint") }
            let byte = bytes[index]
            index += 1
            guard shift < 64 else { throw ProtoError("varint longer than 10 bytes") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    private mutating func readFixed(_ count: Int) throws(ProtoError) -> UInt64 {
        guard bytes.endIndex - index >= count else { throw ProtoError("truncated fixed field") }
        var value: UInt64 = 0
        for i in 0..<count { value |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
        index += count
        return value
    }
}

/// A malformed protobuf message: what was wrong, for a gRPC INVALID_ARGUMENT or INTERNAL.
public struct ProtoError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ProtoReader.Value {
    /// The value of a varint field (uint32, uint64, enum, bool).
    public func varint() throws(ProtoError) -> UInt64 {
        guard case .varint(let v) = self else { throw ProtoError("expected a varint") }
        return v
    }

    /// The bytes of a length-delimited field (string, bytes, message, packed repeated).
    public func payload() throws(ProtoError) -> ArraySlice<UInt8> {
        guard case .bytes(let b) = self else { throw ProtoError("expected a length-delimited field") }
        return b
    }

    /// A string field's text; invalid UTF-8 is an error (proto3 strings must be UTF-8).
    public func string() throws(ProtoError) -> String {
        let b = try payload()
        guard let text = String(validating: b, as: UTF8.self) else { throw ProtoError("string is not UTF-8") }
        return text
    }

    /// The elements of a repeated varint field: one value, or a packed run of them.
    public func varints() throws(ProtoError) -> [UInt64] {
        switch self {
        case .varint(let v): return [v]
        case .bytes(let b):
            var reader = ProtoReader(b)
            var values: [UInt64] = []
            while !reader.atEnd { values.append(try reader.readVarint()) }
            return values
        default: throw ProtoError("expected a varint or a packed varint run")
        }
    }
}

extension ProtoReader {
    var atEnd: Bool { index >= bytes.endIndex }
}
