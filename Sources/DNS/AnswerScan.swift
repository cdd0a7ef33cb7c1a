import SluiceModel

/// What the DNS proxy needs of an upstream answer it relays, read off the wire bytes without
/// building a `DNSMessage`: the response code, the CNAME chain's addresses, lowest TTL and record
/// types, as `AnswerSummary.extract(from: DNSParser.parse(bytes))` gives them.
///
/// `scan` accepts exactly the messages `DNSParser.parse` accepts (the same checks in the same
/// order: header counts matched exactly, no trailing bytes, names decompressed under the same
/// pointer rules and length limit, every rdata consistent with its type, one OPT record owned by
/// the root in the additional section with options that tile), so a proxy that answers SERVFAIL
/// to what the parser rejects answers it to the same messages. Nothing is allocated: names are
/// checked and compared where they lie, the addresses go into the caller's array (its capacity
/// is reused). `AnswerScanTests` holds both equal on fixtures and on random and broken messages.
public struct AnswerScan: Sendable, Equatable {
    /// The full response code (header bits, and the OPT record's extended bits when present).
    public var rcode: RCode
    /// Lowest TTL over the A, AAAA and CNAME records on the chain; `UInt32.max` when none.
    public var ttl: UInt32
    /// CNAME records on the chain.
    public var cnames: Int
    /// Which types the answer records on the chain have (`AnswerSummary.rrtypes` as a set).
    public var hasA: Bool
    public var hasAAAA: Bool
    public var hasCNAME: Bool
    /// A record on the chain of any other type.
    public var hasOther: Bool

    /// Scans `bytes`; the chain's A and AAAA addresses replace the contents of `ips`, in answer
    /// order. Throws what `DNSParser.parse` would throw.
    public static func scan(_ bytes: UnsafeRawBufferPointer, ips: inout [IPAddress]) throws(DNSParseError)
        -> AnswerScan
    {
        ips.removeAll(keepingCapacity: true)
        var at = 2  // the ID
        guard bytes.count >= at else { throw .truncated }
        let flags = try u16(bytes, &at)
        let questionCount = Int(try u16(bytes, &at))
        let answerCount = Int(try u16(bytes, &at))
        let authorityCount = Int(try u16(bytes, &at))
        let additionalCount = Int(try u16(bytes, &at))
        var scan = AnswerScan(
            rcode: DNSHeader(id: 0, flags: flags).rcode, ttl: UInt32.max, cnames: 0, hasA: false,
            hasAAAA: false, hasCNAME: false, hasOther: false)
        // The chain starts at the first question's name (none without a question).
        var chain = -1
        for i in 0..<questionCount {
            guard at < bytes.count else { throw .countMismatch }
            if i == 0 { chain = at }
            at = try checkName(bytes, at: at).end
            at += 4
            guard at <= bytes.count else { throw .truncated }
        }
        var extendedRcode: UInt8?
        for section in 0..<3 {
            let count = section == 0 ? answerCount : section == 1 ? authorityCount : additionalCount
            for _ in 0..<count {
                guard at < bytes.count else { throw .countMismatch }
                let owner = at
                let name = try checkName(bytes, at: at)
                at = name.end
                let type = RRType(try u16(bytes, &at))
                _ = try u16(bytes, &at)  // class
                let ttl = try u32(bytes, &at)
                let length = Int(try u16(bytes, &at))
                if type == .opt {
                    guard section == 2, extendedRcode == nil, name.isRoot else { throw .badOPT }
                    guard length <= bytes.count - at else { throw .truncated }
                    try checkOptions(bytes, from: at, to: at + length)
                    extendedRcode = UInt8(truncatingIfNeeded: ttl >> 24)
                    at += length
                    continue
                }
                let rdata = at
                at = try checkRData(bytes, type: type, at: at, length: length)
                guard section == 0, chain >= 0, sameName(bytes, owner, chain) else { continue }
                switch type {
                case .a:
                    scan.hasA = true
                    ips.append(.v4(IPv4Address(hostOrder: u32(bytes, rdata))))
                    scan.ttl = min(scan.ttl, ttl)
                case .aaaa:
                    scan.hasAAAA = true
                    let high = UInt64(u32(bytes, rdata)) << 32 | UInt64(u32(bytes, rdata + 4))
                    let low = UInt64(u32(bytes, rdata + 8)) << 32 | UInt64(u32(bytes, rdata + 12))
                    ips.append(.v6(IPv6Address(high: high, low: low)))
                    scan.ttl = min(scan.ttl, ttl)
                case .cname:
                    scan.hasCNAME = true
                    scan.cnames += 1
                    scan.ttl = min(scan.ttl, ttl)
                    chain = rdata
                default:
                    scan.hasOther = true
                }
            }
        }
        guard at == bytes.count else { throw .countMismatch }
        if let extendedRcode {
            scan.rcode = RCode(UInt16(extendedRcode) << 4 | UInt16(scan.rcode.headerBits))
        }
        return scan
    }

    // MARK: wire reads (the checks of `WireReader`)

    @inline(__always)
    private static func u16(_ bytes: UnsafeRawBufferPointer, _ at: inout Int) throws(DNSParseError) -> UInt16 {
        guard bytes.count - at >= 2 else { throw .truncated }
        defer { at += 2 }
        return UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
    }

    @inline(__always)
    private static func u32(_ bytes: UnsafeRawBufferPointer, _ at: inout Int) throws(DNSParseError) -> UInt32 {
        guard bytes.count - at >= 4 else { throw .truncated }
        defer { at += 4 }
        return u32(bytes, at)
    }

    /// Four bytes at `at`, already bounds-checked by the caller.
    @inline(__always)
    private static func u32(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    /// Checks the name at `start` as `WireReader.readName` reads it (label types, lengths, the
    /// 255-byte limit, pointers only backwards into the body and before every label read so far,
    /// at most `DNSLimits.maxCompressionPointers`): where the cursor goes after it, and whether it
    /// is the root.
    static func checkName(_ bytes: UnsafeRawBufferPointer, at start: Int) throws(DNSParseError) -> (
        end: Int, isRoot: Bool
    ) {
        var position = start
        var segmentStart = start
        var resumeAt = -1
        var pointers = 0
        var wireCount = 0
        while true {
            guard position >= 0, position < bytes.count else { throw .truncated }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 { return (resumeAt >= 0 ? resumeAt : position + 1, wireCount == 0) }
                let count = Int(length)
                guard position + 1 + count <= bytes.count else { throw .truncated }
                guard wireCount + 1 + count + 1 <= DNSLimits.maxNameWireLength else { throw .nameTooLong }
                wireCount += 1 + count
                position += 1 + count
            case 0xC0:
                guard position + 1 < bytes.count else { throw .truncated }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                pointers += 1
                try DNSLimits.checkPointer(
                    to: target, number: pointers, at: position, segmentStart: segmentStart, messageLength: bytes.count)
                if resumeAt < 0 { resumeAt = position + 2 }
                segmentStart = target
                position = target
            default:
                throw .badLabelType
            }
        }
    }

    /// Whether the names at `a` and `b` (both already checked) are equal, ASCII case ignored,
    /// as `DomainName ==` compares their decompressed wire forms.
    static func sameName(_ bytes: UnsafeRawBufferPointer, _ a: Int, _ b: Int) -> Bool {
        var p = a
        var q = b
        while true {
            while bytes[p] & 0xC0 == 0xC0 { p = Int(bytes[p] & 0x3F) << 8 | Int(bytes[p + 1]) }
            while bytes[q] & 0xC0 == 0xC0 { q = Int(bytes[q] & 0x3F) << 8 | Int(bytes[q + 1]) }
            let length = Int(bytes[p])
            guard length == Int(bytes[q]) else { return false }
            if length == 0 { return true }
            if p != q {
                for i in 1...length where ASCII.lower(bytes[p + i]) != ASCII.lower(bytes[q + i]) { return false }
            }
            p += 1 + length
            q += 1 + length
        }
    }

    /// The rdata of `type` in `length` bytes at `at`, checked as `WireReader.readRData` decodes
    /// it; returns the offset after it.
    private static func checkRData(_ bytes: UnsafeRawBufferPointer, type: RRType, at start: Int, length: Int)
        throws(DNSParseError) -> Int
    {
        guard length <= bytes.count - start else { throw .truncated }
        let end = start + length
        var at = start
        func name() throws(DNSParseError) {
            guard at < end else { throw .badRdata }
            at = try checkName(bytes, at: at).end
            guard at <= end else { throw .badRdata }
        }
        func fixed(_ count: Int) throws(DNSParseError) {
            guard end - at >= count else { throw .badRdata }
            at += count
        }
        switch type {
        case .a:
            guard length == 4 else { throw .badRdata }
            at = end
        case .aaaa:
            guard length == 16 else { throw .badRdata }
            at = end
        case .cname, .ns, .ptr:
            try name()
        case .mx:
            try fixed(2)
            try name()
        case .txt:
            while at < end {
                let count = Int(bytes[at])
                at += 1
                guard count <= end - at else { throw .badRdata }
                at += count
            }
        case .srv:
            try fixed(6)
            try name()
        case .soa:
            try name()
            try name()
            guard end - at == 20 else { throw .badRdata }
            at = end
        default:
            at = end
        }
        guard at == end else { throw .badRdata }
        return end
    }

    /// The OPT record's options between `start` and `end` tile exactly (code, length, value).
    private static func checkOptions(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int)
        throws(DNSParseError)
    {
        var index = start
        while index < end {
            guard end - index >= 4 else { throw .badOPT }
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            guard end - index - 4 >= length else { throw .badOPT }
            index += 4 + length
        }
    }
}
