import SluiceModel

/// One field line of a head, as offsets into the caller's buffer.
public struct HeaderField: Equatable, Sendable {
    /// The field name, exactly as sent (a non-empty token; compare case-insensitively).
    public var name: Range<Int>
    /// The field value with leading and trailing OWS (SP, HTAB) removed; may be empty.
    public var value: Range<Int>

    /// Creates a field from its name and value ranges.
    public init(name: Range<Int>, value: Range<Int>) {
        self.name = name
        self.value = value
    }

    /// The name bytes within `bytes`, the buffer the head was parsed from.
    public func name(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        bytes.slice(name)
    }

    /// The value bytes within `bytes`, the buffer the head was parsed from.
    public func value(in bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        bytes.slice(value)
    }
}

extension Collection where Element == HeaderField {
    /// The value of the first field named `name` (ASCII case-insensitive) within `bytes`, or nil.
    public func firstValue(named name: StaticString, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        for field in self where ASCII.equalsIgnoringCase(bytes, field.name, name) {
            return field.value
        }
        return nil
    }
}
