/// Protocol Buffers wire format, writing side (proto3: fields at their zero value are left out,
/// as every protobuf encoder does). Hand-written for the subset of Hubble's API Sluice serves;
/// `proto/` holds the `.proto` files with the same names and numbers.
///
/// A value type appending to one byte array; a sub-message is written in place after its tag,
/// then its length is inserted before it (no array per sub-message or string).
public struct ProtoWriter {
    /// The wire types (the low 3 bits of a tag).
    public enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// A writer whose buffer has room for `capacity` bytes.
    public init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    public mutating func varint(_ value: UInt64) {
        if value < 0x80 { return bytes.append(UInt8(value)) }
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    @inline(__always)
    public mutating func tag(_ field: Int, _ wire: WireType) {
        varint(UInt64(field) << 3 | UInt64(wire.rawValue))
    }

    /// uint32/uint64/enum field; left out when 0.
    public mutating func uint(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, .varint)
        varint(value)
    }

    /// int32 field; negative values take 10 bytes (sign-extended), as protobuf requires.
    public mutating func int32(_ field: Int, _ value: Int32) {
        guard value != 0 else { return }
        tag(field, .varint)
        varint(UInt64(bitPattern: Int64(value)))
    }

    /// int64 field.
    public mutating func int64(_ field: Int, _ value: Int64) {
        guard value != 0 else { return }
        tag(field, .varint)
        varint(UInt64(bitPattern: value))
    }

    public mutating func bool(_ field: Int, _ value: Bool) {
        guard value else { return }
        tag(field, .varint)
        bytes.append(1)
    }

    public mutating func double(_ field: Int, _ value: Double) {
        guard value != 0 else { return }
        tag(field, .fixed64)
        var bits = value.bitPattern
        for _ in 0..<8 {
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bits >>= 8
        }
    }

    /// string field; left out when empty.
    public mutating func string(_ field: Int, _ value: String) {
        guard !value.isEmpty else { return }
        utf8(field, value)
    }

    /// repeated string: every element, empty ones included.
    public mutating func strings(_ field: Int, _ values: [String]) {
        for value in values { utf8(field, value) }
    }

    private mutating func utf8(_ field: Int, _ value: String) {
        tag(field, .lengthDelimited)
        varint(UInt64(value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    /// Bytes already encoded (fields copied from another message).
    public mutating func raw(_ encoded: ArraySlice<UInt8>) {
        bytes.append(contentsOf: encoded)
    }

    /// Raw bytes (part of a field being written in place, as `message`'s build closure does).
    public mutating func raw(_ encoded: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: encoded)
    }

    /// One raw byte.
    public mutating func rawByte(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// A string's UTF-8 bytes, raw (no tag, no length).
    public mutating func utf8Bytes(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// A number's decimal digits, raw (no tag, no length).
    public mutating func decimal(_ value: UInt64) {
        var digits: (UInt64, Int) = (1, 1)
        while digits.0 <= value / 10 {
            digits.0 *= 10
            digits.1 += 1
        }
        var v = value
        var scale = digits.0
        for _ in 0..<digits.1 {
            bytes.append(UInt8(ascii: "0") + UInt8(v / scale))
            v %= scale
            scale /= 10
        }
    }

    /// string field from bytes (already known to be valid UTF-8); left out when empty.
    public mutating func bytesField(_ field: Int, _ value: UnsafeRawBufferPointer) {
        guard !value.isEmpty else { return }
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// `count` bytes written in place by `fill`.
    public mutating func append(count: Int, _ fill: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: count))
        bytes.withUnsafeMutableBufferPointer { fill(UnsafeMutableBufferPointer(rebasing: $0[start..<start + count])) }
    }

    /// A fixed32/fixed64 value's `count` bytes, little-endian (after its tag).
    public mutating func fixed(_ value: UInt64, bytes count: Int) {
        var v = value
        for _ in 0..<count {
            bytes.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }

    public mutating func lengthDelimited(_ field: Int, _ payload: [UInt8]) {
        tag(field, .lengthDelimited)
        varint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    /// A sub-message, written even when empty (a set message field is present on the wire).
    /// One byte is kept for its length (most sub-messages are shorter than 128 bytes); a longer
    /// one moves its bytes to make room for the rest of the varint.
    public mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
        tag(field, .lengthDelimited)
        let start = bytes.count
        bytes.append(0)
        build(&self)
        let length = UInt64(bytes.count - start - 1)
        if length < 0x80 {
            bytes[start] = UInt8(length)
            return
        }
        // The length's varint is longer than the byte kept: open room for the rest (no array).
        var size = 1
        while length >> (7 * UInt64(size)) != 0 { size += 1 }
        bytes.insert(contentsOf: repeatElement(0, count: size - 1), at: start + 1)
        var v = length
        for i in 0..<size {
            bytes[start + i] = UInt8(truncatingIfNeeded: v) | (i < size - 1 ? 0x80 : 0)
            v >>= 7
        }
    }

    /// Keeps 5 bytes for a gRPC message prefix (`GRPCWire`) at the start of an empty writer, so the
    /// message is framed where it is written (`finishGRPCFrame`), without a copy.
    public mutating func startGRPCFrame() {
        precondition(bytes.isEmpty, "a gRPC frame starts an empty writer")
        bytes.append(contentsOf: [0, 0, 0, 0, 0])
    }

    /// Writes the 5-byte prefix kept by `startGRPCFrame`: not compressed, the message's length.
    public mutating func finishGRPCFrame() {
        let n = UInt32(bytes.count - 5)
        bytes[1] = UInt8(n >> 24)
        bytes[2] = UInt8(truncatingIfNeeded: n >> 16)
        bytes[3] = UInt8(truncatingIfNeeded: n >> 8)
        bytes[4] = UInt8(truncatingIfNeeded: n)
    }

    /// google.protobuf.Timestamp.
    public mutating func timestamp(_ field: Int, seconds: Int64, nanos: Int32) {
        message(field) {
            $0.int64(1, seconds)
            $0.int32(2, nanos)
        }
    }
}
