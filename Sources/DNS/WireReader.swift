/// A bounds-checked read cursor over one DNS message.
///
/// Every read checks the remaining length first and throws `.truncated` instead of trapping, so
/// the parsers built on it are safe on hostile input even when compiled with `-Ounchecked`. The
/// cursor does not own the memory: the caller keeps `bytes` alive for the cursor's lifetime.
struct WireReader {
    /// The whole message; compression pointers are offsets into it.
    let bytes: UnsafeRawBufferPointer
    /// Offset of the next byte to read, always in `0...bytes.count`.
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = min(max(offset, 0), bytes.count)
    }

    /// Bytes left after `offset`.
    var remaining: Int { bytes.count - offset }

    /// True when every byte has been consumed.
    var isAtEnd: Bool { offset == bytes.count }

    /// Moves to `newOffset`, which must lie inside the message.
    mutating func seek(to newOffset: Int) throws(DNSParseError) {
        guard newOffset >= 0, newOffset <= bytes.count else { throw .truncated }
        offset = newOffset
    }

    mutating func skip(_ count: Int) throws(DNSParseError) {
        guard count >= 0, count <= remaining else { throw .truncated }
        offset += count
    }

    /// The byte at absolute position `position`, checked.
    func byte(at position: Int) throws(DNSParseError) -> UInt8 {
        guard position >= 0, position < bytes.count else { throw .truncated }
        return bytes[position]
    }

    mutating func readU8() throws(DNSParseError) -> UInt8 {
        guard remaining >= 1 else { throw .truncated }
        let value = bytes[offset]
        offset += 1
        return value
    }

    mutating func readU16() throws(DNSParseError) -> UInt16 {
        guard remaining >= 2 else { throw .truncated }
        let value = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        offset += 2
        return value
    }

    mutating func readU32() throws(DNSParseError) -> UInt32 {
        guard remaining >= 4 else { throw .truncated }
        var value: UInt32 = 0
        for index in offset..<offset + 4 {
            value = value << 8 | UInt32(bytes[index])
        }
        offset += 4
        return value
    }

    mutating func readU64() throws(DNSParseError) -> UInt64 {
        let high = try readU32()
        let low = try readU32()
        return UInt64(high) << 32 | UInt64(low)
    }

    /// Copies the next `count` bytes out of the message.
    mutating func readBytes(_ count: Int) throws(DNSParseError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw .truncated }
        let slice = Array(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
        offset += count
        return slice
    }

    /// Reads the fixed fields after a record's owner name (RFC 1035 4.1.3).
    mutating func readRecordFields() throws(DNSParseError) -> RecordFields {
        let type = RRType(try readU16())
        let rawClass = try readU16()
        let ttl = try readU32()
        return RecordFields(type: type, rawClass: rawClass, ttl: ttl, length: Int(try readU16()))
    }

    /// Reads the rdata of an OPT record whose fixed fields were `fields` (RFC 6891 6.1.2).
    mutating func readOPT(_ fields: RecordFields) throws(DNSParseError) -> OPTRecord {
        try OPTRecord(class: fields.rawClass, ttl: fields.ttl, options: try readBytes(fields.length))
    }
}

/// TYPE, CLASS (raw: an OPT record's is its UDP payload size), TTL and RDLENGTH of one record.
struct RecordFields {
    var type: RRType
    var rawClass: UInt16
    var ttl: UInt32
    var length: Int
}
