import CSluiceShared
import Flows

/// Flow messages made once per record key and reused (issue 17): most of a flow's bytes are fixed
/// by fields that repeat from record to record (the two peers, verdict, method, url, code,
/// headers, policy), and only its time, ports, latency and uuid differ. A record's key is every
/// byte the encoder reads except those: `sluice_flow` bytes 24..<72 (identities, endpoints,
/// addresses) and 76..<96 (the one-byte fields and `policy_ref`), and of an HTTP/TLS record the
/// `l7.http` bytes 0..<36 (code, lengths, reason, header actions, policy, connection error,
/// header counts, method: flow ring layout 2), the url's and the headers' used bytes. Records with equal keys encode to the
/// same bytes but for the open fields, so a template holds those bytes cut in eight parts, and
/// `FlowRecordProto` writes the open fields between them (`FlowRecordTemplateTests` holds the
/// result equal to the whole encoding over varied records).
///
/// A direct-mapped table: a key's slot is picked by its hash, and a template is made only the
/// second time a key is seen in its slot (`candidates`), so records whose keys do not repeat
/// (every url different) cost one hash and compare each, not a template each. Not thread-safe.
final class FlowRecordTemplates {
    /// What `FlowRecordProto.makeTemplate` returns beside the bytes: where parts 1...7 start,
    /// and the open fields' shape.
    struct Shape {
        var marks: [Int]
        var isL7: Bool
        var l7Type: UInt8
        /// Bytes of the L7 message besides its latency field and part 2 (the `type` field).
        var l7Fixed: Int
        /// Whether the summary carries the latency in milliseconds (parts 5 and 6 around it).
        var summaryHasLatency: Bool
    }

    /// A kept template read in place; valid until the next `make(for:hash:_:)` that makes one.
    struct Template {
        let base: UnsafeMutableRawPointer

        /// Part `i` (0...7) of the bytes.
        @inline(__always)
        func part(_ i: Int) -> UnsafeRawBufferPointer {
            let ends = base.assumingMemoryBound(to: Int32.self)
            let from = i == 0 ? 0 : Int(ends[i - 1])
            return UnsafeRawBufferPointer(start: base + header + from, count: Int(ends[i]) - from)
        }

        var l7Fixed: Int { Int(base.load(fromByteOffset: 32, as: Int32.self)) }
        var l7Type: UInt8 { base.load(fromByteOffset: 36, as: UInt8.self) }
        var isL7: Bool { base.load(fromByteOffset: 37, as: UInt8.self) != 0 }
        var summaryHasLatency: Bool { base.load(fromByteOffset: 38, as: UInt8.self) != 0 }

        /// The last response written from this template (`FlowRecordProto`), kept with where its
        /// open fields lie: a record whose open fields take as many bytes is the same response
        /// with those bytes written over (no other byte, length included, changes).
        var output: Unmanaged<ProtoBuffer> {
            Unmanaged.fromOpaque(base.load(fromByteOffset: 40, as: UnsafeRawPointer.self))
        }

        /// Whether `output` holds a response, whose open fields took `sizes`.
        @inline(__always)
        func holds(_ sizes: Sizes) -> Bool {
            base.load(fromByteOffset: 39, as: UInt8.self) != 0
                && base.loadUnaligned(fromByteOffset: 72, as: UInt64.self) & 0xFFFF_FFFF_FFFF == sizes.word
        }

        var offsets: Offsets { base.load(fromByteOffset: 48, as: Offsets.self) }

        /// Notes that `output` holds a response with its open fields at `offsets`, of `sizes`.
        func keep(_ offsets: Offsets, _ sizes: Sizes) {
            base.storeBytes(of: offsets, toByteOffset: 48, as: Offsets.self)
            base.storeBytes(of: sizes.word, toByteOffset: 72, as: UInt64.self)
            base.storeBytes(of: 1, toByteOffset: 39, as: UInt8.self)
        }
    }

    /// Where a response's open fields start (bytes from its gRPC prefix): the two timestamps'
    /// values, the L4 ports, the L7 latency field, the uuid's sequence bytes, the summary's
    /// milliseconds.
    struct Offsets {
        var time: Int32 = 0
        var ports: Int32 = 0
        var latency: Int32 = 0
        var uuid: Int32 = 0
        var milliseconds: Int32 = 0
        var responseTime: Int32 = 0
    }

    /// The bytes each open field takes (a field at 0 takes none: proto3 leaves it out).
    struct Sizes: Equatable {
        var word: UInt64

        init(seconds: Int, nanos: Int, sourcePort: Int, destinationPort: Int, latency: Int, milliseconds: Int) {
            word =
                UInt64(seconds) | UInt64(nanos) << 8 | UInt64(sourcePort) << 16 | UInt64(destinationPort) << 24
                | UInt64(latency) << 32 | UInt64(milliseconds) << 40
        }

        var seconds: Int { Int(word & 0xFF) }
        var nanos: Int { Int(word >> 8 & 0xFF) }
        var sourcePort: Int { Int(word >> 16 & 0xFF) }
        var latency: Int { Int(word >> 32 & 0xFF) }
        var milliseconds: Int { Int(word >> 40 & 0xFF) }
    }

    /// A template's allocation: the eight parts' ends (Int32), `l7Fixed` (Int32), `l7Type`,
    /// `isL7`, `summaryHasLatency`, whether `output` holds a response, `output` (an unmanaged
    /// `ProtoBuffer`, retained), the output's `Offsets` and `Sizes`, then the bytes.
    static var header: Int { 80 }

    private struct Slot {
        var hash: UInt64 = 0
        var key: UnsafeMutableRawPointer?
        var template: UnsafeMutableRawPointer?
    }

    private let slots: UnsafeMutablePointer<Slot>
    /// The hash of the last key seen without a template in each slot.
    private let candidates: UnsafeMutablePointer<UInt64>
    private let table: HashSlots
    private var slotCount: Int { table.count }
    /// Records written from a template, and templates made (tests count them).
    private(set) var used = 0
    private(set) var made = 0

    /// A table of `slots` templates (rounded up to a power of two).
    init(slots: Int) {
        let table = HashSlots(atLeast: slots)
        self.table = table
        self.slots = .allocate(capacity: table.count)
        self.slots.initialize(repeating: Slot(), count: table.count)
        candidates = .allocate(capacity: table.count)
        candidates.initialize(repeating: 0, count: table.count)
    }

    deinit {
        for i in 0..<slotCount { Self.free(slots[i]) }
        slots.deallocate()
        candidates.deallocate()
    }

    /// The template of `p`'s key when one is kept (then `p` is a record the encoder covers: the
    /// key holds every byte `FlowRecordProto.covers` reads), and the key's hash.
    @inline(__always)
    func find(_ p: UnsafePointer<sluice_flow>) -> (template: Template?, hash: UInt64) {
        let hash = Self.hash(p)
        let slot = slots[index(hash)]
        if slot.hash == hash, let key = slot.key, let template = slot.template, Self.matches(p, key: key) {
            used += 1
            return (Template(base: template), hash)
        }
        return (nil, hash)
    }

    /// After `find` found none for a covered record: its template made now by `make` (which
    /// writes the bytes and returns their shape) when the key was seen in its slot before; nil
    /// otherwise (`p` is to be encoded whole, and its key is remembered).
    func make(for p: UnsafePointer<sluice_flow>, hash: UInt64, _ make: (inout ProtoWriter) -> Shape) -> Template? {
        let i = index(hash)
        guard candidates[i] == hash else {
            candidates[i] = hash
            return nil
        }
        return fill(i, p, hash, make)
    }

    @inline(__always)
    private func index(_ hash: UInt64) -> Int { table.index(hash) }

    private func fill(
        _ i: Int, _ p: UnsafePointer<sluice_flow>, _ hash: UInt64, _ make: (inout ProtoWriter) -> Shape
    ) -> Template {
        var w = ProtoWriter(capacity: 2048)
        let shape = make(&w)
        precondition(shape.marks.count == 7)
        let template = UnsafeMutableRawPointer.allocate(byteCount: Self.header + w.count, alignment: 8)
        let ends = template.bindMemory(to: Int32.self, capacity: 9)
        for (j, mark) in shape.marks.enumerated() { ends[j] = Int32(mark) }
        ends[7] = Int32(w.count)
        ends[8] = Int32(shape.l7Fixed)
        template.storeBytes(of: shape.l7Type, toByteOffset: 36, as: UInt8.self)
        template.storeBytes(of: shape.isL7 ? 1 : 0, toByteOffset: 37, as: UInt8.self)
        template.storeBytes(of: shape.summaryHasLatency ? 1 : 0, toByteOffset: 38, as: UInt8.self)
        template.storeBytes(of: 0, toByteOffset: 39, as: UInt8.self)
        let output = Unmanaged.passRetained(ProtoBuffer(capacity: w.count + 512))
        template.storeBytes(of: UnsafeRawPointer(output.toOpaque()), toByteOffset: 40, as: UnsafeRawPointer.self)
        w.withBytes { (template + Self.header).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let count = Self.keyCount(p)
        let key = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 8)
        Self.writeKey(p, to: key)
        Self.free(slots[i])
        slots[i] = Slot(hash: hash, key: key, template: template)
        candidates[i] = 0
        made += 1
        used += 1
        return Template(base: template)
    }

    private static func free(_ slot: Slot) {
        slot.key?.deallocate()
        if let template = slot.template {
            Template(base: template).output.release()
            template.deallocate()
        }
    }

    // MARK: the key

    // Offsets in `struct sluice_flow` and `sluice_flow_http` (`FlowRecordTemplateTests` holds them).
    static var peers: Range<Int> { 24..<72 }
    static var fixed: Range<Int> { 76..<96 }
    static var l7: Int { 96 }
    /// Every fixed field of `sluice_flow_http`, the method among them: all before the url (flow
    /// ring layout 2).
    static var httpFixed: Range<Int> { 0..<36 }
    static var url: Int { 36 }
    static var urlLength: Int { 4 }
    static var headers: Int { 420 }
    static var headersLength: Int { 16 }
    /// Where the key's url starts (after the peers, fixed and HTTP fixed bytes).
    static var keyURL: Int { 48 + 20 + 36 }

    /// Whether the record's `l7` is an `l7.http` the encoder reads (HTTP or TLS).
    @inline(__always)
    static func isHTTP(_ p: UnsafePointer<sluice_flow>) -> Bool {
        p.pointee.flow_type == Flow.FlowType.l7.rawValue
            && Flow.L7Protocol(rawValue: p.pointee.l7_proto)?.record == .http
    }

    @inline(__always)
    static func urlCount(_ p: UnsafePointer<sluice_flow>) -> Int {
        min(Int(UnsafeRawPointer(p).load(fromByteOffset: l7 + urlLength, as: UInt16.self)), Int(SLUICE_HTTP_URL_MAX))
    }

    @inline(__always)
    static func headersCount(_ p: UnsafePointer<sluice_flow>) -> Int {
        min(
            Int(UnsafeRawPointer(p).load(fromByteOffset: l7 + headersLength, as: UInt16.self)),
            Int(SLUICE_HTTP_HEADERS_MAX))
    }

    /// The key's length in bytes.
    static func keyCount(_ p: UnsafePointer<sluice_flow>) -> Int {
        isHTTP(p) ? keyURL + urlCount(p) + headersCount(p) : 48 + 20
    }

    /// Copies the key's bytes of `p` to `key` (`keyCount` of them).
    static func writeKey(_ p: UnsafePointer<sluice_flow>, to key: UnsafeMutableRawPointer) {
        let r = UnsafeRawPointer(p)
        key.copyMemory(from: r + peers.lowerBound, byteCount: peers.count)
        (key + 48).copyMemory(from: r + fixed.lowerBound, byteCount: fixed.count)
        guard isHTTP(p) else { return }
        let h = r + l7
        (key + 68).copyMemory(from: h + httpFixed.lowerBound, byteCount: httpFixed.count)
        let urlCount = urlCount(p)
        (key + keyURL).copyMemory(from: h + url, byteCount: urlCount)
        (key + keyURL + urlCount).copyMemory(from: h + headers, byteCount: headersCount(p))
    }

    /// Whether `p`'s key is `key`'s bytes (the lengths in the key's fixed bytes are compared
    /// before the url and headers they measure).
    @inline(__always)
    static func matches(_ p: UnsafePointer<sluice_flow>, key: UnsafeRawPointer) -> Bool {
        let r = UnsafeRawPointer(p)
        guard equal(r + peers.lowerBound, key, peers.count), equal(r + fixed.lowerBound, key + 48, fixed.count)
        else { return false }
        guard isHTTP(p) else { return true }
        let h = r + l7
        guard equal(h + httpFixed.lowerBound, key + 68, httpFixed.count) else { return false }
        let urlCount = urlCount(p)
        return equal(h + url, key + keyURL, urlCount)
            && equal(h + headers, key + keyURL + urlCount, headersCount(p))
    }

    @inline(__always)
    static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        var diff: UInt64 = 0
        var i = 0
        while i + 8 <= count {
            diff |=
                a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < count {
            diff |= UInt64(a.load(fromByteOffset: i, as: UInt8.self) ^ b.load(fromByteOffset: i, as: UInt8.self))
            i += 1
        }
        return diff == 0
    }

    /// A hash of some of the key's bytes (equal keys, equal hashes; never 0): each word times its
    /// own odd constant, the products combined (independent multiplies, no chain of them), then
    /// mixed once.
    @inline(__always)
    static func hash(_ p: UnsafePointer<sluice_flow>) -> UInt64 {
        let r = UnsafeRawPointer(p)
        @inline(__always) func word(_ at: UnsafeRawPointer) -> UInt64 { at.loadUnaligned(as: UInt64.self) }
        var a = word(r + 24) &* 0x9E37_79B9_7F4A_7C15 ^ word(r + 32) &* 0xC2B2_AE3D_27D4_EB4F
        a ^= word(r + 40) &* 0x1656_67B1_9E37_79F9 ^ word(r + 48) &* 0x85EB_CA77_C2B2_AE63
        var b = word(r + 56) &* 0x27D4_EB2F_1656_67C5 ^ word(r + 64) &* 0xFF51_AFD7_ED55_8CCD
        b ^= word(r + 76) &* 0xC4CE_B9FE_1A85_EC53 ^ word(r + 84) &* 0x9FB2_1C65_1E98_DF25
        b ^= UInt64(r.loadUnaligned(fromByteOffset: 92, as: UInt32.self)) &* 0xD6E8_FEB8_6659_FD93
        if isHTTP(p) {
            let l = r + l7
            a ^= word(l) &* 0xA076_1D64_78BD_642F ^ word(l + 8) &* 0xE703_7ED1_A0B4_28DB
            a ^= word(l + 16) &* 0x8EBC_6AF0_9C88_C6E3
            b ^= word(l + 24) &* 0x5899_65CC_7537_4CC3 ^ word(l + 28) &* 0x1D8E_4E27_C47D_124F
            let urlCount = urlCount(p)
            if urlCount >= 8 {
                a ^= word(l + url) &* 0x9E37_79B9_7F4A_7C15
                b ^= word(l + url + urlCount - 8) &* 0xC2B2_AE3D_27D4_EB4F
            } else if urlCount > 0 {
                // The url array is 384 bytes: the word is in it; only its used bytes count.
                a ^= (word(l + url) & ((1 << (8 * UInt64(urlCount))) - 1)) &* 0x9E37_79B9_7F4A_7C15
            }
            let headersCount = headersCount(p)
            if headersCount >= 8 { a ^= word(l + headers + headersCount - 8) &* 0x1656_67B1_9E37_79F9 }
        }
        var h = a ^ (b << 32 | b >> 32)
        h = (h ^ h >> 29) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h | 1
    }
}
