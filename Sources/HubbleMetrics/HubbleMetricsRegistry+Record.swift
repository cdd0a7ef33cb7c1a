import CSluiceShared
import Flows

/// Counting a flow straight from its ring record (issue 17: the observer without a decode per
/// flow). Without context labels, every handler's labels are made of the record's numbers and
/// enum values (event type, verdict, direction, L4 protocol and flags, ICMP type, drop reason,
/// L7 type and protocol, HTTP method and code, DNS qtype, rcode, answer count and types); the
/// two histograms observe the record's latency. So the first record of each `RecordKey` is
/// decoded and counted as a `Flow`, the series it moved are kept (`RecordEffects`, found by
/// diffing every family's counts), and every later record of the same key moves the same series
/// without a decode: counts equal the decoded path's by construction (a test holds them equal on
/// every record kind the proxy writes).
///
/// Handlers that read names or labels (context labels, `flows-to-world`'s destination labels,
/// `dns`'s `query` label) keep the decoded path for every record (`countsFromRecords` false).
extension HubbleMetricsRegistry {
    /// The record fields any handler without context labels reads. Finer than needed is only a
    /// lower hit rate, never a wrong count; ports, addresses, identities and text stay out
    /// (except the destination port with `port-distribution` and the HTTP method).
    struct RecordKey: Hashable {
        /// Six words, built in registers (`recordKey`): 0-1 the record's one-byte fields as they
        /// lie in it (bytes 76..<92: ip_version, l4_proto, verdict, flow_type, event_type,
        /// drop_reason, direction, is_reply, tcp_flags, l7_type, l7_proto, icmp_type, icmp_code,
        /// trace_point, trace_reason, policy_match); 2-3 the HTTP method's bytes; 4 the
        /// destination port, HTTP code, DNS qtype and rcode; 5 the DNS answer types, the method's
        /// length, the DNS answer count, whether the source is the host identity. (Byte fields
        /// stored one by one and read back as words stalled on store forwarding.)
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

        static func == (a: RecordKey, b: RecordKey) -> Bool {
            let x = a.words, y = b.words
            return (x.0 ^ y.0) | (x.1 ^ y.1) | (x.2 ^ y.2) | (x.3 ^ y.3) | (x.4 ^ y.4) | (x.5 ^ y.5) == 0
        }

        func hash(into hasher: inout Hasher) {
            let w = words
            hasher.combine(w.0)
            hasher.combine(w.1)
            hasher.combine(w.2)
            hasher.combine(w.3)
            hasher.combine(w.4)
            hasher.combine(w.5)
        }

        /// A cheap hash for `RecordEffectsTable`'s front cache (not Hasher's SipHash).
        var quickHash: Int {
            let w = words
            var h = w.0 &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ w.1) &* 0xC2B2_AE3D_27D4_EB4F
            h = (h ^ w.2) &* 0x1656_67B1_9E37_79F9
            h = (h ^ w.3) &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ w.4) &* 0xC2B2_AE3D_27D4_EB4F
            h = (h ^ w.5) &* 0x1656_67B1_9E37_79F9
            return Int(truncatingIfNeeded: h >> 40)
        }
    }

    /// The effects of every key seen, flattened: a key's counter and histogram effects are ranges
    /// of two arrays of plain values (family references unretained: the registry owns the
    /// families), found through a direct-mapped cache of recent keys before the dictionary. So
    /// a record of a known key costs a cheap hash, a 48-byte compare and the increments, with
    /// no reference counting.
    struct RecordEffectsTable {
        struct CounterEffect {
            var family: Unmanaged<CounterFamily>
            var handle: Int
            var amount: UInt64
        }
        struct HistogramEffect {
            var family: Unmanaged<HistogramFamily>
            var handle: Int
            var count: UInt64
        }
        struct Ranges {
            var counters: Range<Int>
            var histograms: Range<Int>
        }
        static let cacheSize = 256
        var counters: [CounterEffect] = []
        var histograms: [HistogramEffect] = []
        var ranges: [Ranges] = []
        var index: [RecordKey: Int] = [:]
        var cacheKeys = [RecordKey?](repeating: nil, count: cacheSize)
        var cacheEntries = [Int](repeating: 0, count: cacheSize)

        var count: Int { ranges.count }

        /// The entry of `key`, if known.
        mutating func find(_ key: RecordKey) -> Int? {
            let slot = key.quickHash & (Self.cacheSize - 1)
            if let cached = cacheKeys[slot], cached == key { return cacheEntries[slot] }
            guard let entry = index[key] else { return nil }
            cacheKeys[slot] = key
            cacheEntries[slot] = entry
            return entry
        }

        mutating func add(_ key: RecordKey, counters: [CounterEffect], histograms: [HistogramEffect]) {
            let c = self.counters.count, h = self.histograms.count
            self.counters += counters
            self.histograms += histograms
            index[key] = ranges.count
            ranges.append(Ranges(counters: c..<self.counters.count, histograms: h..<self.histograms.count))
        }
    }

    /// Keys kept at most (a bound on memory; past it, new keys are counted by decoding).
    static let maxRecordKeys = 16384

    /// Whether `handler` counts from record fields alone (no context labels, no names).
    static func countsFromRecordFields(_ handler: any MetricHandler) -> Bool {
        switch handler {
        case let h as FlowHandler: h.context.isEmpty
        case let h as DropHandler: h.context.isEmpty
        case let h as TCPHandler: h.context.isEmpty
        case let h as ICMPHandler: h.context.isEmpty
        case let h as PortDistributionHandler: h.context.isEmpty
        case let h as PolicyHandler: h.context.isEmpty
        case let h as HTTPHandler: h.context.isEmpty
        case let h as DNSHandler: h.context.isEmpty && !h.includeQuery
        default: false
        }
    }

    /// The key of the record at `p`, or nil when its counts depend on more than its fields (a
    /// policy verdict whose source identity only the endpoint directory knows). Reads the fields
    /// in place (no copy of the record).
    @inline(__always)
    func recordKey(_ p: UnsafePointer<sluice_flow>) -> RecordKey? {
        let eventType = p.pointee.event_type
        let sourceIdentity = p.pointee.src_identity
        if sourceIdentity == 0, Int32(eventType) == Flow.EventType.policyVerdict { return nil }
        let raw = UnsafeRawPointer(p)
        let fields0 = raw.loadUnaligned(fromByteOffset: RecordOffsets.byteFields, as: UInt64.self)
        let fields1 = raw.loadUnaligned(fromByteOffset: RecordOffsets.byteFields + 8, as: UInt64.self)
        let port = keyHasPort ? UInt64(p.pointee.dst_port) : 0
        let host: UInt64 = sourceIdentity == PolicyHandler.hostIdentity ? 1 << 32 : 0
        var key = RecordKey(words: (fields0, fields1, 0, 0, port, host))
        guard p.pointee.flow_type == Flow.FlowType.l7.rawValue else { return key }
        let l7 = raw + RecordOffsets.l7
        switch Flow.L7Protocol(rawValue: p.pointee.l7_proto)?.record {
        case .http:
            let length = min(
                Int(l7.load(fromByteOffset: RecordOffsets.httpMethodLength, as: UInt8.self)),
                Int(SLUICE_HTTP_METHOD_MAX))
            let code = UInt64(l7.load(fromByteOffset: RecordOffsets.httpCode, as: UInt16.self))
            // The method's 16 bytes as two words, the bytes past its length cleared.
            let method = Self.methodWords(l7 + RecordOffsets.httpMethod, length: length)
            key.words.2 = method.0
            key.words.3 = method.1
            key.words.4 |= code << 16
            key.words.5 |= UInt64(length) << 16
        case .dns:
            let qtype = UInt64(l7.load(fromByteOffset: RecordOffsets.dnsQtype, as: UInt16.self))
            let rcode = UInt64(l7.load(fromByteOffset: RecordOffsets.dnsRcode, as: UInt16.self))
            let answers = UInt64(l7.load(fromByteOffset: RecordOffsets.dnsIPCount, as: UInt8.self))
            let types = UInt64(l7.load(fromByteOffset: RecordOffsets.dnsTypes, as: UInt16.self))
            key.words.4 |= qtype << 32 | rcode << 48
            key.words.5 |= types | answers << 24
        case nil:
            break
        }
        return key
    }

    /// The first `length` (at most 16) bytes at `p` as two little-endian words, zero past them.
    @inline(__always)
    static func methodWords(_ p: UnsafeRawPointer, length: Int) -> (UInt64, UInt64) {
        let low = p.loadUnaligned(as: UInt64.self).littleEndian
        let high = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        func keep(_ word: UInt64, _ bytes: Int) -> UInt64 {
            bytes >= 8 ? word : bytes <= 0 ? 0 : word & (UInt64.max >> (64 - 8 * UInt64(bytes)))
        }
        return (keep(low, length), keep(high, length - 8))
    }

    /// The key of a record value (tests).
    func recordKey(_ rec: sluice_flow) -> RecordKey? { withUnsafePointer(to: rec) { recordKey($0) } }

    /// Where `recordKey` reads the L7 fields (the union's members are read in place): constants,
    /// no lazy global per record (the tests hold them equal to `MemoryLayout.offset(of:)`).
    enum RecordOffsets {
        /// `ip_version`, the first of the sixteen one-byte fields the key takes whole.
        static var byteFields: Int { 76 }
        static var l7: Int { 96 }
        static var httpCode: Int { 0 }
        static var httpMethodLength: Int { 2 }
        static var httpMethod: Int { 20 }
        static var dnsQtype: Int { 6 }
        static var dnsRcode: Int { 4 }
        static var dnsIPCount: Int { 10 }
        static var dnsTypes: Int { 12 }
    }

    /// Counts the flow of ring record `rec` in every handler and in Sluice's families, as
    /// `process(decode())` would; `decode` is called only for a record whose key is new (or
    /// when `countsFromRecords` is false).
    public func process(record rec: borrowing sluice_flow, decode: () -> Flow) {
        withUnsafePointer(to: rec) { process(record: $0, decode: decode) }
    }

    /// `process(record:decode:)` on the record at `rec`, read in place (the observer's history's scratch record).
    public func process(record rec: UnsafePointer<sluice_flow>, decode: () -> Flow) {
        guard countsFromRecords, let key = recordKey(rec) else { return process(decode()) }
        if let entry = recordEffects.find(key) { return count(entry, latencyNs: rec.pointee.latency_ns) }
        guard recordEffects.count < Self.maxRecordKeys else { return process(decode()) }
        let families = countedFamilies
        let counts = families.counters.map(\.countsByHandle)
        let observations = families.histograms.map(\.observationsByHandle)
        process(decode())
        var counters: [RecordEffectsTable.CounterEffect] = []
        var histograms: [RecordEffectsTable.HistogramEffect] = []
        for (f, family) in families.counters.enumerated() {
            for (handle, now) in family.countsByHandle.enumerated() {
                let before = handle < counts[f].count ? counts[f][handle] : 0
                if now != before {
                    counters.append(.init(family: .passUnretained(family), handle: handle, amount: now &- before))
                }
            }
        }
        for (f, family) in families.histograms.enumerated() {
            for (handle, now) in family.observationsByHandle.enumerated() {
                let before = handle < observations[f].count ? observations[f][handle] : 0
                if now != before {
                    histograms.append(.init(family: .passUnretained(family), handle: handle, count: now &- before))
                }
            }
        }
        recordEffects.add(key, counters: counters, histograms: histograms)
    }

    /// One record of the known key `entry`: its counters move later, by the poll's count of the
    /// key (`applyPendingCounts`), its histograms observe its latency now (their sums add in
    /// record order, as the decoded path's do).
    @inline(__always)
    private func count(_ entry: Int, latencyNs: UInt64) {
        pending.add(entry)
        let ranges = recordEffects.ranges[entry]
        guard !ranges.histograms.isEmpty else { return }
        observe(ranges.histograms, latencyNs: latencyNs)
    }

    /// Applies the counter effects of the records counted since the last call: each key's
    /// counters move once by the key's count times the effect (a poll of 1,000 records of a few
    /// keys moved each of a record's counters 1,000 times). The observer calls it at the end of
    /// every poll (`FlowListener.pollEnded`); `families` and `render` call it first, so a reader
    /// never sees a count short. Each effect is copied out by index: a closure over the arrays
    /// (`withUnsafeBufferPointer`) retained and released both.
    public func applyPendingCounts() {
        let touched = pending.touched
        guard touched > 0 else { return }
        for t in 0..<touched {
            let entry = pending.entry(t)
            let times = UInt64(pending.take(entry))
            for i in recordEffects.ranges[entry].counters {
                let e = recordEffects.counters[i]
                e.family._withUnsafeGuaranteedRef { $0.add(series: e.handle, e.amount &* times) }
            }
        }
        pending.clear()
    }

    private func observe(_ histograms: Range<Int>, latencyNs: UInt64) {
        let seconds = Double(latencyNs) / 1e9
        for i in histograms {
            let e = recordEffects.histograms[i]
            e.family._withUnsafeGuaranteedRef { family in
                for _ in 0..<e.count { family.observe(series: e.handle, seconds) }
            }
        }
    }
}

/// Counts of records by effect entry since they were last applied, and the entries touched (in
/// the order first touched): plain memory, no array uniqueness check per record. Owned by one
/// registry (its loop thread).
final class PendingRecordCounts {
    private let counts: UnsafeMutablePointer<UInt32>
    private let entries: UnsafeMutablePointer<Int32>
    private let capacity: Int
    /// Entries with a count now (`entry(0..<touched)`).
    private(set) var touched = 0

    /// Room for entries `0..<capacity` (untouched pages of the two tables cost nothing).
    init(capacity: Int) {
        self.capacity = capacity
        counts = .allocate(capacity: capacity)
        counts.initialize(repeating: 0, count: capacity)
        entries = .allocate(capacity: capacity)
    }

    deinit {
        counts.deallocate()
        entries.deallocate()
    }

    /// One more record of `entry` (below `capacity`: the registry keeps at most that many keys).
    @inline(__always)
    func add(_ entry: Int) {
        precondition(entry >= 0 && entry < capacity)
        let was = counts[entry]
        if was == 0 {
            entries[touched] = Int32(truncatingIfNeeded: entry)
            touched += 1
        }
        // Cannot wrap: a poll hands on at most `Observer.pollLimit` records, and the observer
        // takes every count at the end of each poll.
        counts[entry] = was &+ 1
    }

    /// The `i`th entry touched.
    func entry(_ i: Int) -> Int { Int(entries[i]) }

    /// `entry`'s count, set back to 0.
    func take(_ entry: Int) -> UInt32 {
        let n = counts[entry]
        counts[entry] = 0
        return n
    }

    /// Forgets the touched entries (each taken).
    func clear() { touched = 0 }
}
