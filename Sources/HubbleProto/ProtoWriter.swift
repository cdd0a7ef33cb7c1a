/// Protocol Buffers wire format, writing side (proto3: fields at their zero value are left out,
/// as every protobuf encoder does). Hand-written for the subset of Hubble's API Sluice serves;
/// `proto/` holds the `.proto` files with the same names and numbers.
///
/// Writes into one growing buffer (`ProtoBuffer`, reserved up front, bytes stored through its
/// pointer: no per-byte uniqueness or array checks); a sub-message is written in place after its
/// tag, then its length is inserted before it (no array per sub-message or string). `bytes`
/// copies the result out once. A writer is used in place (`inout`), never copied: copies would
/// share the buffer.
public struct ProtoWriter {
    /// The wire types (the low 3 bits of a tag).
    public enum WireType: UInt8 {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
    }

    @usableFromInline let buffer: ProtoBuffer

    /// The bytes written so far (a copy).
    public var bytes: [UInt8] {
        [UInt8](UnsafeBufferPointer(start: buffer.base, count: buffer.count))
    }

    /// How many bytes have been written.
    public var count: Int { buffer.count }

    public init() { buffer = ProtoBuffer(capacity: 256) }

    /// A writer whose buffer has room for `capacity` bytes.
    public init(capacity: Int) {
        buffer = ProtoBuffer(capacity: max(capacity, 16))
    }

    /// A writer over `buffer`, emptied first (an encoder keeps one buffer for every message it
    /// writes; the writer is done, its `bytes` taken, before the buffer is reused).
    public init(reusing buffer: ProtoBuffer) {
        buffer.count = 0
        self.buffer = buffer
    }

    /// Empties the writer; its buffer is kept.
    @inline(__always)
    public mutating func removeAll() { buffer.count = 0 }

    /// The bytes written so far, read in place (valid only during `body`).
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: buffer.base, count: buffer.count))
    }

    @inline(__always)
    public mutating func varint(_ value: UInt64) {
        let p = buffer.reserve(10)
        if value < 0x80 {
            p[0] = UInt8(value)
            buffer.count += 1
            return
        }
        buffer.count += Self.storeVarint(value, at: p)
    }

    /// Writes `value` as a varint at `p` (room for 10 bytes) and returns its length.
    @inline(__always)
    static func storeVarint(_ value: UInt64, at p: UnsafeMutablePointer<UInt8>) -> Int {
        var v = value
        var i = 0
        while v >= 0x80 {
            p[i] = UInt8(truncatingIfNeeded: v) | 0x80
            v >>= 7
            i += 1
        }
        p[i] = UInt8(v)
        return i + 1
    }

    @inline(__always)
    public mutating func tag(_ field: Int, _ wire: WireType) {
        varint(UInt64(field) << 3 | UInt64(wire.rawValue))
    }

    /// uint32/uint64/enum field; left out when 0.
    @inline(__always)
    public mutating func uint(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, .varint)
        varint(value)
    }

    /// int32 field; negative values take 10 bytes (sign-extended), as protobuf requires.
    @inline(__always)
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

    @inline(__always)
    public mutating func bool(_ field: Int, _ value: Bool) {
        guard value else { return }
        tag(field, .varint)
        rawByte(1)
    }

    public mutating func double(_ field: Int, _ value: Double) {
        guard value != 0 else { return }
        tag(field, .fixed64)
        fixed(value.bitPattern, bytes: 8)
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
        utf8Bytes(value)
    }

    /// Bytes already encoded (fields copied from another message).
    public mutating func raw(_ encoded: ArraySlice<UInt8>) {
        encoded.withUnsafeBytes { raw($0) }
    }

    /// Raw bytes (part of a field being written in place, as `message`'s build closure does).
    @inline(__always)
    public mutating func raw(_ encoded: UnsafeRawBufferPointer) {
        guard let source = encoded.baseAddress, !encoded.isEmpty else { return }
        let p = buffer.reserve(encoded.count)
        UnsafeMutableRawPointer(p).copyMemory(from: source, byteCount: encoded.count)
        buffer.count += encoded.count
    }

    /// One raw byte.
    @inline(__always)
    public mutating func rawByte(_ byte: UInt8) {
        buffer.reserve(1)[0] = byte
        buffer.count += 1
    }

    /// A string's UTF-8 bytes, raw (no tag, no length).
    public mutating func utf8Bytes(_ text: String) {
        var text = text
        text.withUTF8 { raw(UnsafeRawBufferPointer($0)) }
    }

    /// A number's decimal digits, raw (no tag, no length).
    public mutating func decimal(_ value: UInt64) {
        let count = Self.decimalCount(value)
        let p = buffer.reserve(count)
        var v = value
        for i in stride(from: count - 1, through: 0, by: -1) {
            p[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
        }
        buffer.count += count
    }

    /// How many decimal digits `value` has (`decimal` writes them).
    @inline(__always)
    public static func decimalCount(_ value: UInt64) -> Int {
        var digits: (UInt64, Int) = (1, 1)
        while digits.0 <= value / 10 {
            digits.0 *= 10
            digits.1 += 1
        }
        return digits.1
    }

    /// How many bytes `value` takes as a varint (`varint` writes them).
    @inline(__always)
    public static func varintSize(_ value: UInt64) -> Int {
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    /// string field from bytes (already known to be valid UTF-8); left out when empty.
    @inline(__always)
    public mutating func bytesField(_ field: Int, _ value: UnsafeRawBufferPointer) {
        guard !value.isEmpty else { return }
        tag(field, .lengthDelimited)
        varint(UInt64(value.count))
        raw(value)
    }

    /// `count` bytes written in place by `fill`.
    public mutating func append(count: Int, _ fill: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        let p = buffer.reserve(count)
        p.initialize(repeating: 0, count: count)
        fill(UnsafeMutableBufferPointer(start: p, count: count))
        buffer.count += count
    }

    /// `count` bytes written in place by `fill` (through a raw pointer; nothing initialized first).
    @inline(__always)
    public mutating func appendRaw(count: Int, _ fill: (UnsafeMutableRawPointer) -> Void) {
        let p = buffer.reserve(count)
        fill(UnsafeMutableRawPointer(p))
        buffer.count += count
    }

    /// A fixed32/fixed64 value's `count` bytes, little-endian (after its tag).
    public mutating func fixed(_ value: UInt64, bytes count: Int) {
        let p = buffer.reserve(count)
        var v = value
        for i in 0..<count {
            p[i] = UInt8(truncatingIfNeeded: v)
            v >>= 8
        }
        buffer.count += count
    }

    public mutating func lengthDelimited(_ field: Int, _ payload: [UInt8]) {
        tag(field, .lengthDelimited)
        varint(UInt64(payload.count))
        payload.withUnsafeBytes { raw($0) }
    }

    /// A sub-message, written even when empty (a set message field is present on the wire).
    /// One byte is kept for its length (most sub-messages are shorter than 128 bytes); a longer
    /// one moves its bytes to make room for the rest of the varint.
    public mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
        message(field, lengthBytes: 1, build)
    }

    /// A sub-message with `kept` bytes kept for its length's varint before it is written (2 for
    /// one of 128 bytes to 16 KiB, such as a flow): the body moves only when its length takes
    /// another number of bytes (the varint stays minimal, as every encoder writes it).
    @inline(__always)
    public mutating func message(_ field: Int, lengthBytes kept: Int, _ build: (inout ProtoWriter) -> Void) {
        let mark = beginMessage(field, lengthBytes: kept)
        build(&self)
        endMessage(mark)
    }

    /// Where a sub-message begun by `beginMessage` starts, and the bytes kept for its length.
    public struct MessageMark {
        let start: Int
        let kept: Int
    }

    /// Starts a sub-message written without a closure (a hot encoder's: no context captured):
    /// its tag, and `kept` bytes for its length; the fields follow, then `endMessage(mark)`.
    @inline(__always)
    public mutating func beginMessage(_ field: Int, lengthBytes kept: Int = 1) -> MessageMark {
        tag(field, .lengthDelimited)
        let start = buffer.count
        _ = buffer.reserve(kept)
        buffer.count += kept
        return MessageMark(start: start, kept: kept)
    }

    /// Ends the sub-message `mark` began: writes its length (`message(_:lengthBytes:_:)`).
    @inline(__always)
    public mutating func endMessage(_ mark: MessageMark) {
        let (start, kept) = (mark.start, mark.kept)
        let length = buffer.count - start - kept
        if kept == 1, length < 0x80 {
            buffer.base[start] = UInt8(length)
            return
        }
        var size = 1
        while UInt64(length) >> (7 * UInt64(size)) != 0 { size += 1 }
        if size != kept {
            // The varint takes another number of bytes than kept: move the body (memmove).
            if size > kept { _ = buffer.reserve(size - kept) }
            let body = buffer.base + start + kept
            UnsafeMutableRawPointer(buffer.base + start + size).copyMemory(from: body, byteCount: length)
            buffer.count += size - kept
        }
        var v = UInt64(length)
        for i in 0..<size {
            buffer.base[start + i] = UInt8(truncatingIfNeeded: v) | (i < size - 1 ? 0x80 : 0)
            v >>= 7
        }
    }

    /// Keeps 5 bytes for a gRPC message prefix (`GRPCWire`) at the start of an empty writer, so the
    /// message is framed where it is written (`finishGRPCFrame`), without a copy.
    public mutating func startGRPCFrame() {
        precondition(buffer.count == 0, "a gRPC frame starts an empty writer")
        buffer.reserve(5).initialize(repeating: 0, count: 5)
        buffer.count = 5
    }

    /// Writes the 5-byte prefix kept by `startGRPCFrame`: not compressed, the message's length.
    public mutating func finishGRPCFrame() {
        let n = UInt32(buffer.count - 5)
        let p = buffer.base
        p[1] = UInt8(n >> 24)
        p[2] = UInt8(truncatingIfNeeded: n >> 16)
        p[3] = UInt8(truncatingIfNeeded: n >> 8)
        p[4] = UInt8(truncatingIfNeeded: n)
    }

    /// google.protobuf.Timestamp (its length from its two varints' sizes: at most 22 bytes).
    @inline(__always)
    public mutating func timestamp(_ field: Int, seconds: Int64, nanos: Int32) {
        tag(field, .lengthDelimited)
        let s = UInt64(bitPattern: seconds)
        let n = UInt64(bitPattern: Int64(nanos))
        rawByte(UInt8((s != 0 ? 1 + Self.varintSize(s) : 0) + (n != 0 ? 1 + Self.varintSize(n) : 0)))
        int64(1, seconds)
        int32(2, nanos)
    }
}

/// `ProtoWriter`'s storage: one allocation, grown by doubling.
public final class ProtoBuffer {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var count = 0
    @usableFromInline var capacity: Int

    public init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    /// Room for `n` more bytes; returns where they go (the caller adds to `count`).
    @inline(__always) @usableFromInline
    func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if count + n > capacity { grow(count + n) }
        return base + count
    }

    @usableFromInline
    func grow(_ needed: Int) {
        var c = capacity * 2
        while c < needed { c *= 2 }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        p.update(from: base, count: count)
        base.deallocate()
        base = p
        capacity = c
    }
}
