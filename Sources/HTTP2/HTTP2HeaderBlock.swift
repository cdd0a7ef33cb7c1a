/// One header block (request or response headers, or trailers) as nghttp2 decoded it: every
/// name and value copied into one contiguous byte array, fields kept as ranges in arrival order
/// (pseudo-headers first, as RFC 9113 8.3 requires and nghttp2 enforces).
///
/// A value type with no pointers into nghttp2: the library's buffers are only valid during the
/// callback that delivered them.
public struct HTTP2HeaderBlock: Sendable, Equatable {
    /// One field: byte ranges into `storage`.
    public struct Field: Sendable, Equatable {
        public var name: Range<Int>
        public var value: Range<Int>
    }

    /// All names and values, back to back.
    public private(set) var storage: [UInt8] = []
    public private(set) var fields: [Field] = []
    /// The header list size as RFC 9113 6.5.2 counts it (name + value + 32 per field), counted
    /// for every field received, including the ones dropped after the limit was passed.
    public private(set) var listSize = 0
    /// Set when `listSize` passed the limit given to `append`: the block is incomplete and the
    /// stream must be answered 431, not forwarded.
    public private(set) var overflowed = false

    public init() {}

    /// A block from (name, value) strings (local replies and tests).
    public init(_ pairs: [(String, String)]) {
        for (n, v) in pairs { append(name: Array(n.utf8), value: Array(v.utf8)) }
    }

    /// Adds a field unless the list size passes `limit`; then marks the block overflowed and keeps
    /// counting (HPACK state must still be updated by decoding the rest, nghttp2 does that).
    public mutating func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, limit: Int = .max) {
        listSize += name.count + value.count + 32
        guard !overflowed else { return }
        guard listSize <= limit else {
            overflowed = true
            return
        }
        let n0 = storage.count
        storage.append(contentsOf: name)
        let v0 = storage.count
        storage.append(contentsOf: value)
        fields.append(Field(name: n0..<v0, value: v0..<storage.count))
    }

    public mutating func append(name: [UInt8], value: [UInt8]) {
        name.withUnsafeBytes { n in value.withUnsafeBytes { v in append(name: n, value: v) } }
    }

    public mutating func append(name: String, value: UnsafeRawBufferPointer) {
        Array(name.utf8).withUnsafeBytes { append(name: $0, value: value) }
    }

    public mutating func append(name: String, value: String) {
        append(name: Array(name.utf8), value: Array(value.utf8))
    }

    /// The first value of the field `name` (lowercase, as HTTP/2 requires), or nil.
    public func value(of name: String) -> ArraySlice<UInt8>? {
        let wanted = Array(name.utf8)
        for f in fields where storage[f.name].elementsEqual(wanted) {
            return storage[f.value]
        }
        return nil
    }

    /// The first value as text (lossy), for tests and logs.
    public func text(of name: String) -> String? {
        value(of: name).map { String(decoding: $0, as: UTF8.self) }
    }

    /// (name, value) strings, for tests.
    public var pairs: [(String, String)] {
        fields.map {
            (String(decoding: storage[$0.name], as: UTF8.self), String(decoding: storage[$0.value], as: UTF8.self))
        }
    }

    /// A copy without the fields `drop` says to leave out.
    public func filtered(_ drop: (ArraySlice<UInt8>, ArraySlice<UInt8>) -> Bool) -> HTTP2HeaderBlock {
        var out = HTTP2HeaderBlock()
        for f in fields where !drop(storage[f.name], storage[f.value]) {
            out.append(name: Array(storage[f.name]), value: Array(storage[f.value]))
        }
        return out
    }
}
