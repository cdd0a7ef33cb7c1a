/// A power-of-two table of slots indexed by a 64-bit hash (Fibonacci hashing: the hash times
/// 2^64/φ, then its top bits), shared by `BlobCache` and `FlowRecordTemplates`.
struct HashSlots {
    /// Slots in the table: the count asked for, rounded up to a power of two.
    let count: Int
    private let shift: UInt64

    init(atLeast requested: Int) {
        var bits: UInt64 = 0
        while 1 << bits < requested { bits += 1 }
        count = 1 << bits
        shift = 64 - bits
    }

    /// The slot of `hash`, in `0..<count`.
    @inline(__always)
    func index(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> shift) }
}
