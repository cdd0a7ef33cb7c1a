import SluiceModel

/// HTTP's byte classes and comparisons on SluiceModel's `ASCII` (which holds the constants, case
/// folding and hex digits), shared by the head parser and the chunked scanner.
///
/// Everything here reads through indices checked against the buffer's count, so no input can trap.
extension ASCII {
    /// Bit `c` set for every tchar below 64 (RFC 9110 section 5.6.2): ``!#$%&'*+-.`` and digits.
    private static let tokenMaskLow: UInt64 = 0x03FF_6CFA_0000_0000
    /// Bit `c - 64` set for every tchar in 64...127: letters and ``^_`|~``.
    private static let tokenMaskHigh: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    /// Whether `c` is a tchar. Two constant masks instead of a table, so no lazy global is touched.
    @inline(__always)
    static func isToken(_ c: UInt8) -> Bool {
        if c < 64 { return (tokenMaskLow >> UInt64(c)) & 1 != 0 }
        if c < 128 { return (tokenMaskHigh >> UInt64(c &- 64)) & 1 != 0 }
        return false
    }

    /// Whether `c` may appear in a field value, reason phrase or chunk extension: HTAB, SP, VCHAR
    /// and obs-text (RFC 9110 section 5.5). NUL, other controls and DEL may not.
    @inline(__always)
    static func isFieldContent(_ c: UInt8) -> Bool {
        (c >= 0x20 && c != 0x7F) || c == htab
    }

    /// Whether `bytes[range]` equals `literal`, ignoring ASCII case. `range` must lie within `bytes`;
    /// a range outside gives false.
    @inline(__always)
    static func equalsIgnoringCase(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString
    ) -> Bool {
        matches(bytes, range, literal, fold: lower)
    }
}

extension ASCII {
    /// Whether `bytes[range]` equals `literal` exactly (case-sensitive); false for a range outside `bytes`.
    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        matches(bytes, range, literal) { $0 }
    }

    /// Whether `bytes[range]` and `literal` are equal byte by byte after `fold`.
    @inline(__always)
    private static func matches(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString, fold: (UInt8) -> UInt8
    ) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard range.count == count, range.lowerBound >= 0, range.upperBound <= bytes.count else {
            return false
        }
        let start = literal.utf8Start
        var i = 0
        while i < count {
            if fold(bytes[range.lowerBound &+ i]) != fold(start[i]) { return false }
            i &+= 1
        }
        return true
    }
}

/// Whether `a` equals `b`, ignoring ASCII case (A-Z = a-z; other bytes must be identical).
public func asciiCaseInsensitiveEquals(_ a: UnsafeRawBufferPointer, _ b: StaticString) -> Bool {
    ASCII.equalsIgnoringCase(a, 0..<a.count, b)
}

extension UnsafeRawBufferPointer {
    /// The bytes in `range`, rebased to start at index 0; empty when `range` does not lie within `self`
    /// (so a range from another buffer cannot read out of bounds).
    func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        guard range.lowerBound >= 0, range.upperBound <= count, let base = baseAddress else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }
}

/// Iterates the elements of a comma-separated list value (RFC 9110 section 5.6.1), each trimmed of
/// OWS. Empty elements are returned too (as empty ranges) so callers can decide whether to accept them.
struct ListElements: IteratorProtocol {
    private let bytes: UnsafeRawBufferPointer
    private var position: Int
    private let end: Int
    private var finished = false

    /// Iterates the list in `bytes[range]`; `range` must lie within `bytes`.
    init(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        self.bytes = bytes
        self.position = max(range.lowerBound, 0)
        self.end = min(range.upperBound, bytes.count)
    }

    mutating func next() -> Range<Int>? {
        guard !finished else { return nil }
        var start = position
        var stop = position
        while stop < end, bytes[stop] != ASCII.comma { stop &+= 1 }
        if stop >= end { finished = true } else { position = stop &+ 1 }
        while start < stop, ASCII.isWhitespace(bytes[start]) { start &+= 1 }
        var last = stop
        while last > start, ASCII.isWhitespace(bytes[last &- 1]) { last &-= 1 }
        return start..<last
    }
}
