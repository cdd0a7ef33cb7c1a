/// A contiguous byte buffer owned by one connection: bytes are appended at `writeIndex` and
/// consumed from `readIndex`. The memory is allocated once and reused for the life of the
/// connection; it grows (up to `limit`) only when a message head does not fit.
///
/// Not thread-safe: owned by one event-loop thread.
public final class IOBuffer {
    /// Start of the storage.
    public private(set) var base: UnsafeMutableRawPointer
    /// Bytes of storage.
    public private(set) var capacity: Int
    /// The largest capacity `grow` may reach.
    public let limit: Int
    /// First unconsumed byte.
    public var readIndex = 0
    /// One past the last stored byte.
    public var writeIndex = 0

    public init(capacity: Int, limit: Int) {
        self.capacity = capacity
        self.limit = max(limit, capacity)
        self.base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// Bytes stored and not yet consumed.
    @inline(__always) public var readableCount: Int { writeIndex - readIndex }
    /// Free bytes after `writeIndex`.
    @inline(__always) public var writableCount: Int { capacity - writeIndex }
    @inline(__always) public var isEmpty: Bool { readIndex == writeIndex }

    /// The unconsumed bytes. Valid until the next mutation.
    @inline(__always) public var readable: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + readIndex, count: writeIndex - readIndex)
    }

    /// Pointer to the first free byte.
    @inline(__always) public var writePointer: UnsafeMutableRawPointer { base + writeIndex }

    /// Marks `n` bytes consumed; resets to the start when empty so reads stay contiguous.
    @inline(__always) public func consume(_ n: Int) {
        readIndex += n
        if readIndex == writeIndex {
            readIndex = 0
            writeIndex = 0
        }
    }

    /// Moves the unconsumed bytes to the start of the storage.
    public func compact() {
        guard readIndex > 0 else { return }
        let n = writeIndex - readIndex
        if n > 0 { (base).copyMemory(from: base + readIndex, byteCount: n) }
        readIndex = 0
        writeIndex = n
    }

    /// Makes room for at least one more byte: compacts, then doubles up to `limit`.
    /// Returns false when the buffer is full at its limit.
    public func reserveSpace() -> Bool {
        if writableCount > 0 { return true }
        compact()
        if writableCount > 0 { return true }
        guard capacity < limit else { return false }
        regrow(to: min(capacity * 2, limit))
        return true
    }

    /// Moves the bytes (compacted: they start at 0) into a new allocation of `newCapacity`.
    private func regrow(to newCapacity: Int) {
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: writeIndex)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Appends all of `bytes` (used for locally generated replies), compacting and growing up to
    /// `limit` as needed. Returns false, appending nothing, when they cannot fit within `limit`.
    @discardableResult
    public func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count > 0, let src = bytes.baseAddress else { return true }
        if writableCount < bytes.count { compact() }
        if writableCount < bytes.count {
            let needed = writeIndex + bytes.count
            guard needed <= limit else { return false }
            var newCapacity = capacity
            while newCapacity < needed { newCapacity = min(newCapacity * 2, limit) }
            regrow(to: newCapacity)
        }
        writePointer.copyMemory(from: src, byteCount: bytes.count)
        writeIndex += bytes.count
        return true
    }

    /// Drops everything.
    @inline(__always) public func clear() {
        readIndex = 0
        writeIndex = 0
    }
}
