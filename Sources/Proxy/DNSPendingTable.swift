/// The forwarder's queries in flight, by upstream message ID (`DNSForwarder`).
///
/// The IDs are drawn uniformly at random (`DNSRandom`, RFC 5452), so the ID itself is a perfect
/// index: a 65,536-entry table maps each ID to its entry's position in one dense array, and a
/// lookup, an insert or a removal is a load and a store, with no hashing (a `Dictionary` hashes
/// the ID with SipHash on each of the three per forwarded query). Removal moves the last entry
/// into the freed position. Costs 128 KiB per worker for the index.
///
/// Loop-thread only, like its forwarder.
struct DNSPendingTable<Value> {
    /// For each ID, its entry's position plus one; 0 when the ID is not in flight.
    private var positionOfID: [UInt16]
    private var ids: [UInt16] = []
    private var values: [Value] = []

    /// At most this many entries (every 16-bit ID but one: positions are kept plus one in 16 bits).
    static var capacity: Int { Int(UInt16.max) }

    init() {
        positionOfID = [UInt16](repeating: 0, count: 1 << 16)
    }

    var count: Int { values.count }
    var isEmpty: Bool { values.isEmpty }

    /// Whether `id` is in flight.
    func contains(_ id: UInt16) -> Bool { positionOfID[Int(id)] != 0 }

    /// The position of `id`'s entry, nil when it is not in flight.
    func position(of id: UInt16) -> Int? {
        let p = Int(positionOfID[Int(id)])
        return p == 0 ? nil : p - 1
    }

    /// The entry at `position` (read in place, not copied).
    subscript(position position: Int) -> Value {
        _read { yield values[position] }
    }

    /// The value for `id`, nil when it is not in flight.
    subscript(id: UInt16) -> Value? {
        guard let p = position(of: id) else { return nil }
        return values[p]
    }

    /// Adds `value` for `id`, which must not be in flight; false when the table is full.
    @discardableResult
    mutating func insert(_ value: Value, for id: UInt16) -> Bool {
        guard positionOfID[Int(id)] == 0, values.count < Self.capacity else { return false }
        ids.append(id)
        values.append(value)
        positionOfID[Int(id)] = UInt16(values.count)
        return true
    }

    /// Removes and returns the entry at `position` (the last entry takes its place).
    mutating func remove(at position: Int) -> Value {
        let last = values.count - 1
        let id = ids[position]
        if position != last {
            ids.swapAt(position, last)
            values.swapAt(position, last)
            positionOfID[Int(ids[position])] = UInt16(position + 1)
        }
        positionOfID[Int(id)] = 0
        ids.removeLast()
        return values.removeLast()
    }

    /// Removes and returns the value for `id`, nil when it is not in flight.
    @discardableResult
    mutating func removeValue(for id: UInt16) -> Value? {
        guard let p = position(of: id) else { return nil }
        return remove(at: p)
    }
}
