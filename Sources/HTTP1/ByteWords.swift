import SluiceModel

/// Byte classes eight bytes at a time (SWAR: one `UInt64` holds eight byte lanes), for the head
/// scanner's long runs: field values, names and request-targets.
///
/// Every mask here is exact per lane: the high bit of a lane is set exactly when that byte is in the
/// class, whatever the other lanes hold (no borrow or carry crosses a lane), so the lowest set lane
/// is the first byte of the class. Words are loaded little-endian, so lane k is byte k. The scanner
/// uses a word only to skip bytes that are certainly in a run; the byte rules then take over at the
/// first byte the word left, so every decision is still made by the byte rules
/// (`HeadScanner`; held equal to the byte-at-a-time scanner by `ByteLoopParser` in the tests).
enum ByteWords {
    /// 0x01 in every lane.
    static let ones: UInt64 = 0x0101_0101_0101_0101
    /// 0x80 in every lane.
    static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The eight bytes at `offset` as one word, byte `offset` in the lowest lane. The caller checks
    /// `offset + 8 <= bytes.count`.
    @inline(__always)
    static func load(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Lanes whose byte is below `limit` (`limit` at most 0x80). `(x | 0x80) - limit` cannot borrow
    /// from the next lane and keeps the high bit exactly when the low seven bits are at least
    /// `limit`; a byte with its own high bit set is never below.
    @inline(__always)
    static func below(_ x: UInt64, _ limit: UInt8) -> UInt64 {
        ~(((x | highs) &- ones &* UInt64(limit)) | x) & highs
    }

    /// Lanes whose byte equals `c`. `(t & 0x7F) + 0x7F` cannot carry into the next lane and sets the
    /// high bit exactly when the low seven bits of `t` are not all zero.
    @inline(__always)
    static func equal(_ x: UInt64, _ c: UInt8) -> UInt64 {
        let t = x ^ (ones &* UInt64(c))
        let low = ~highs
        return ~(((t & low) &+ low) | t) & highs
    }

    /// The index (0...7) of the lowest lane set in a non-zero `mask`.
    @inline(__always)
    static func firstLane(_ mask: UInt64) -> Int {
        mask.trailingZeroBitCount &>> 3
    }

    /// Lanes that may end a field value or reason phrase: controls (HTAB included) and DEL. HTAB is
    /// field content; it stops the word scan only so that the mask stays cheap (eight operations),
    /// and the byte loop reads on through it (`ASCII.isFieldContent`). `(x & 0x7F) + 1` reaches the
    /// high bit exactly for 0x7F and 0xFF, and the `~x` drops 0xFF.
    @inline(__always)
    static func valueStops(_ x: UInt64) -> UInt64 {
        let low = ~highs
        return (~((x | highs) &- ones &* 0x20) | ((x & low) &+ ones)) & ~x & highs
    }

    /// Lanes that are not a letter or `-`: the bytes almost every field name is made of (a subset of
    /// tchar, so the lanes before the first one set are token bytes; a digit or another tchar stops
    /// the word scan and the byte loop reads on). With `y` the byte folded to lower case and cut to
    /// seven bits, `y + 0x1F` and `y + 0x05` reach the high bit exactly for `y >= 0x61` and
    /// `y >= 0x7B`, without a carry into the next lane.
    @inline(__always)
    static func nameStops(_ x: UInt64) -> UInt64 {
        let y = (x | (ones &* 0x20)) & ~highs
        let letter = (y &+ ones &* 0x1F) & ~(y &+ ones &* 0x05) & ~x
        return ~(letter | equal(x, 0x2D)) & highs
    }

    /// Lanes that are not visible ASCII (0x21...0x7E): what ends a request-target.
    @inline(__always)
    static func targetStops(_ x: UInt64) -> UInt64 {
        below(x, 0x21) | (~below(x, 0x7F) & highs)
    }

    /// The first index from `start` before `end` whose byte `stops` marks, or the first index where
    /// fewer than eight bytes are left before `end`: the bytes before it are certainly not stops.
    @inline(__always)
    static func skip(
        _ bytes: UnsafeRawBufferPointer, from start: Int, end: Int, stops: (UInt64) -> UInt64
    ) -> Int {
        var i = start
        while end &- i >= 8 {
            let mask = stops(load(bytes, i))
            if mask != 0 { return i &+ firstLane(mask) }
            i &+= 8
        }
        return i
    }

    /// Whether `bytes[range]` equals `literal` ignoring ASCII case, a word (or half-word) at a time.
    /// `literal` must be lower case letters, digits and `-`. Exact for bytes without C0 controls other
    /// than HTAB (field names and field values, which the scanner has checked): OR-ing 0x20 maps only
    /// `A`-`Z` onto a literal byte besides the byte itself (and CR onto `-`, 0x10-0x19 onto digits).
    @inline(__always)
    static func equalsFolded(
        _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString
    ) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard n >= 4 else { return ASCII.equalsIgnoringCase(bytes, range, literal) }
        guard range.count == n, range.lowerBound >= 0, range.upperBound <= bytes.count else { return false }
        let text = UnsafeRawBufferPointer(start: literal.utf8Start, count: n)
        let at = range.lowerBound
        if n < 8 {
            let fold: UInt32 = 0x2020_2020
            let a = bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self) | fold
            let b = bytes.loadUnaligned(fromByteOffset: at &+ n &- 4, as: UInt32.self) | fold
            return a == text.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
                && b == text.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)
        }
        let fold = ones &* 0x20
        var k = 0
        while true {
            if k > n &- 8 { k = n &- 8 }
            let word = bytes.loadUnaligned(fromByteOffset: at &+ k, as: UInt64.self) | fold
            guard word == text.loadUnaligned(fromByteOffset: k, as: UInt64.self) else { return false }
            if k == n &- 8 { return true }
            k &+= 8
        }
    }
}
