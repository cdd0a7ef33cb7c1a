/// Byte strings an encoder made once, by key (the encoded parts of a message that repeat from
/// message to message: endpoints, policies, summaries), in a direct-mapped table: a key's slot
/// is picked by its hash, and a key that lands on a taken slot replaces what was there. Each
/// string lives in an allocation of its own that the cache owns, so reading one costs no
/// retain, release or copy; a `Blob` is valid until the next `blob` call that makes a string.
/// A string may be cut into three parts by two marks (`Blob.part`). Not thread-safe.
final class BlobCache<Key: Equatable> {
    /// A kept string, read in place.
    struct Blob {
        let base: UnsafeRawPointer?
        let count: Int
        /// Where parts 1 and 2 start.
        let marks: (Int, Int)

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

        /// Part 0 is `[0, marks.0)`, part 1 `[marks.0, marks.1)`, part 2 `[marks.1, count)`.
        @inline(__always)
        func part(_ i: Int) -> UnsafeRawBufferPointer {
            let (from, to) = i == 0 ? (0, marks.0) : i == 1 ? (marks.0, marks.1) : (marks.1, count)
            return UnsafeRawBufferPointer(start: base.map { $0 + from }, count: to - from)
        }
    }

    private struct Slot {
        var key: Key
        var base: UnsafeMutableRawPointer?
        var count: Int
        var marks: (Int, Int)
    }

    private let slots: UnsafeMutablePointer<Slot?>
    private let table: HashSlots
    private var slotCount: Int { table.count }
    /// Strings made (each miss makes one; a test counts them).
    private(set) var made = 0

    /// A cache of `slots` entries (rounded up to a power of two).
    init(slots: Int) {
        let table = HashSlots(atLeast: slots)
        self.table = table
        self.slots = .allocate(capacity: table.count)
        self.slots.initialize(repeating: nil, count: table.count)
    }

    deinit {
        for i in 0..<slotCount { slots[i]?.base?.deallocate() }
        slots.deinitialize(count: slotCount)
        slots.deallocate()
    }

    /// The string kept for `key` (`hash` is any hash of it), made by `make` when it is not kept:
    /// `make` writes it and returns its two marks (`(0, 0)` when it has one part).
    @inline(__always)
    func blob(_ key: Key, hash: UInt64, make: (inout ProtoWriter) -> (Int, Int)) -> Blob {
        let i = table.index(hash)
        if let slot = slots[i], slot.key == key {
            return Blob(base: UnsafeRawPointer(slot.base), count: slot.count, marks: slot.marks)
        }
        return fill(i, key, make)
    }

    private func fill(_ i: Int, _ key: Key, _ make: (inout ProtoWriter) -> (Int, Int)) -> Blob {
        var w = ProtoWriter()
        let marks = make(&w)
        let count = w.count
        var base: UnsafeMutableRawPointer?
        if count > 0 {
            let p = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 8)
            w.withBytes { p.copyMemory(from: $0.baseAddress!, byteCount: count) }
            base = p
        }
        slots[i]?.base?.deallocate()
        slots[i] = Slot(key: key, base: base, count: count, marks: marks)
        made += 1
        return Blob(base: UnsafeRawPointer(base), count: count, marks: marks)
    }
}
