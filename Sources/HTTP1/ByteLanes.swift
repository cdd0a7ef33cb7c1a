import SluiceModel

/// Eight bytes of a head read as one word, classified all at once (SWAR: SIMD within a register),
/// so the field scanner steps over runs of ordinary name and value bytes eight at a time.
///
/// Every class is a mask with the high bit of byte lane `k` set when byte `k` (the byte at the
/// lowest address is lane 0) is in the class, and only then: each lane's arithmetic stays within
/// its lane (no carry or borrow crosses into the next), so a mask is exact per lane, not merely
/// "some lane matches". The scanner takes only what the byte-by-byte rules would take and leaves
/// the first byte it is not sure of to them, so the accepted heads and errors are the same.
struct ByteLanes {
    /// The word; lane `k` is bits `8k..<8k+8`.
    let word: UInt64

    static let high: UInt64 = 0x8080_8080_8080_8080
    private static let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
    private static let ones: UInt64 = 0x0101_0101_0101_0101

    /// The eight bytes at `offset` (which must leave eight bytes inside the buffer of `base`).
    @inline(__always)
    init(_ base: UnsafeRawPointer, at offset: Int) {
        word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    init(word: UInt64) { self.word = word }

    /// Lanes equal to `byte`.
    @inline(__always)
    func equal(_ byte: UInt8) -> UInt64 {
        let y = word ^ (Self.ones &* UInt64(byte))
        // A lane's high bit is set by its own high bit or by its low seven bits plus 0x7F (no carry out).
        let nonzero = ((y & Self.low7) &+ Self.low7) | y
        return ~nonzero & Self.high
    }

    /// Lanes below 0x80 whose value lies in `lower...upper` (both below 0x80).
    @inline(__always)
    private static func inRange(_ low: UInt64, _ lower: UInt8, _ upper: UInt8) -> UInt64 {
        // `low` has every lane below 0x80: lane + (0x80 - lower) reaches 0x80 iff lane >= lower,
        // lane + (0x7F - upper) reaches 0x80 iff lane > upper; neither passes 0xFF.
        let atLeast = low &+ ones &* UInt64(0x80 &- lower)
        let above = low &+ ones &* UInt64(0x7F &- upper)
        return atLeast & ~above & high
    }

    /// Lanes below 0x20 (controls).
    @inline(__always)
    var controls: UInt64 {
        // Seven low bits + 0x60 reach 0x80 iff they are at least 0x20; a lane at 0x80 or above is no control.
        ~((word & Self.low7) &+ Self.ones &* 0x60) & ~word & Self.high
    }

    /// Lanes that end a field value's run: a control other than HTAB (CR, LF, NUL, ...) or DEL.
    @inline(__always)
    var valueStops: UInt64 { (controls & ~equal(ASCII.htab)) | equal(0x7F) }

    /// Lanes a field value's content may end on: neither a stop nor SP nor HTAB (VCHAR, obs-text).
    @inline(__always)
    var valueVisible: UInt64 { ~(valueStops | equal(ASCII.sp) | equal(ASCII.htab)) & Self.high }

    /// Lanes that are a letter, a digit or `-`: the tchars nearly every field name is made of.
    @inline(__always)
    var nameBytes: UInt64 {
        let low = word & Self.low7
        let letters = Self.inRange(low | (Self.ones &* 0x20), 0x61, 0x7A)
        let digits = Self.inRange(low, 0x30, 0x39)
        return (letters | digits | equal(0x2D)) & ~word & Self.high
    }

    /// How many lanes from lane 0 have their bit in `mask` set, before the first that has not (0...8).
    @inline(__always)
    static func leadingRun(_ mask: UInt64) -> Int { (~mask & high).trailingZeroBitCount >> 3 }

    /// The first lane whose bit is set in `mask` (8 when none is).
    @inline(__always)
    static func firstLane(_ mask: UInt64) -> Int { mask.trailingZeroBitCount >> 3 }

    /// The last lane whose bit is set in `mask`, which must not be zero.
    @inline(__always)
    static func lastLane(_ mask: UInt64) -> Int { (63 &- mask.leadingZeroBitCount) >> 3 }

    /// `mask` restricted to the lanes before lane `lane` (0...7).
    @inline(__always)
    static func before(_ lane: Int, _ mask: UInt64) -> UInt64 { mask & ((1 &<< UInt64(lane &* 8)) &- 1) }
}
