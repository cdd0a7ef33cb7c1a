/// Builds the replies the proxy answers on its own: policy denials (REFUSED or NXDOMAIN), proxy
/// errors (SERVFAIL) and unparseable queries (FORMERR).
public enum DNSReply {
    /// UDP payload size the proxy advertises in the OPT record it echoes (the DNS Flag Day 2020
    /// value, safe from fragmentation).
    public static let defaultUDPPayloadSize: UInt16 = 1232

    /// An error reply to the query in `queryBytes`, as miekg/dns `SetRcode` builds it for Cilium:
    /// the query's ID, opcode, RD and CD, its first question only (uncompressed, case as
    /// received), QR set, no records; RA set when `recursionAvailable`.
    ///
    /// If the query has an OPT record, the reply carries one too (RFC 6891 7): our
    /// `udpPayloadSize`, version 0, the query's DO bit (RFC 3225 3), no options.
    ///
    /// For `.formErr` a query whose question cannot be parsed still gets a reply: the header
    /// alone, echoing only the ID (miekg/dns `SetRcodeFormatError`). Other rcodes rethrow the parse error, and so
    /// does FORMERR when there are fewer than 12 bytes (nothing sensible to answer).
    public static func error(
        for queryBytes: UnsafeRawBufferPointer, rcode: RCode,
        recursionAvailable: Bool = true,
        udpPayloadSize: UInt16 = defaultUDPPayloadSize
    ) throws(DNSParseError) -> [UInt8] {
        let head: QueryHead
        do {
            head = try DNSParser.parseQueryHead(queryBytes)
        } catch {
            guard rcode == .formErr, queryBytes.count >= DNSLimits.headerSize else { throw error }
            let header = DNSHeader(
                id: UInt16(queryBytes[0]) << 8 | UInt16(queryBytes[1]), qr: true,
                ra: recursionAvailable, rcode: rcode)
            return DNSSerializer.serialize(DNSMessage(header: header), compress: false)
        }
        return error(
            for: queryBytes, head: head, rcode: rcode, recursionAvailable: recursionAvailable,
            udpPayloadSize: udpPayloadSize)
    }

    /// The same reply for a query already parsed into `head` (the proxy parsed it to decide):
    /// the question copied from the query's bytes (the serializer would write the same bytes: an
    /// uncompressed name, its type and class) into a new array, and `errorInPlace` writing the
    /// header and the OPT record around it. A question whose name the query compressed is written
    /// by the serializer instead.
    public static func error(
        for queryBytes: UnsafeRawBufferPointer, head: QueryHead, rcode: RCode,
        recursionAvailable: Bool = true,
        udpPayloadSize: UInt16 = defaultUDPPayloadSize
    ) -> [UInt8] {
        let questionEnd = head.hasQuestion ? head.questionEnd : DNSLimits.headerSize
        var out = [UInt8](repeating: 0, count: questionEnd + (head.opt == nil ? 0 : 11))
        let length = out.withUnsafeMutableBytes { reply in
            let question = DNSLimits.headerSize..<questionEnd
            UnsafeMutableRawBufferPointer(rebasing: reply[question])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: queryBytes[question]))
            return errorInPlace(
                reply, head: head, rcode: rcode, recursionAvailable: recursionAvailable,
                udpPayloadSize: udpPayloadSize)
        }
        guard length == out.count else {
            let header = replyHeader(to: head.header, rcode: rcode, recursionAvailable: recursionAvailable)
            // A head parsed without its question's name (`parseQueryHeadLeavingName`) is parsed
            // again with it for the serializer.
            let named = head.question == nil && head.hasQuestion ? (try? DNSParser.parseQueryHead(queryBytes)) : head
            return serialized(head: named ?? head, header: header, udpPayloadSize: udpPayloadSize)
        }
        return out
    }

    /// `error(for:head:rcode:)` written over the query's own bytes, for the proxy's denied path
    /// (no allocation, no copy of the question): the header is rewritten, the question stays
    /// where it is, the OPT record (if the query had one) is written right after it, and
    /// everything after that is dropped. Returns the reply's length (`bytes[0..<length]` is the
    /// reply, byte for byte what `error(for:head:rcode:)` returns), or nil, changing nothing,
    /// when it cannot be built there (a compressed question, or `head` not of these bytes): the
    /// caller builds it with `error(for:head:rcode:)` then. The reply is never longer than the
    /// query: an echoed OPT record replaces the query's own, which is at least as long.
    public static func errorInPlace(
        _ bytes: UnsafeMutableRawBufferPointer, head: QueryHead, rcode: RCode,
        recursionAvailable: Bool = true,
        udpPayloadSize: UInt16 = defaultUDPPayloadSize
    ) -> Int? {
        let questionBytes = head.hasQuestion ? head.questionEnd - DNSLimits.headerSize : 0
        if let question = head.question, question.name.wireLength + 4 != questionBytes { return nil }
        let length = DNSLimits.headerSize + questionBytes + (head.opt == nil ? 0 : 11)
        guard questionBytes >= 0, length <= bytes.count else { return nil }
        let header = replyHeader(to: head.header, rcode: rcode, recursionAvailable: recursionAvailable)
        var at = 0
        func u16(_ value: UInt16) {
            bytes[at] = UInt8(truncatingIfNeeded: value >> 8)
            bytes[at + 1] = UInt8(truncatingIfNeeded: value)
            at += 2
        }
        u16(header.id)
        u16(header.flags)
        u16(head.hasQuestion ? 1 : 0)
        u16(0)
        u16(0)
        u16(head.opt == nil ? 0 : 1)
        if let opt = head.opt {
            at = DNSLimits.headerSize + questionBytes
            let ttl = OPTRecord(udpPayloadSize: udpPayloadSize, dnssecOK: opt.dnssecOK).ttlField(rcode: header.rcode)
            bytes[at] = 0
            at += 1
            u16(RRType.opt.rawValue)
            u16(udpPayloadSize)
            u16(UInt16(truncatingIfNeeded: ttl >> 16))
            u16(UInt16(truncatingIfNeeded: ttl))
            u16(0)
        }
        return length
    }

    /// The reply built as a message and serialized (names decoded and written again).
    static func serialized(head: QueryHead, header: DNSHeader, udpPayloadSize: UInt16) -> [UInt8] {
        var reply = DNSMessage(header: header)
        if let question = head.question {
            reply.questions = [question]
        }
        if let opt = head.opt {
            reply.opt = OPTRecord(udpPayloadSize: udpPayloadSize, dnssecOK: opt.dnssecOK)
        }
        return DNSSerializer.serialize(reply, compress: false)
    }

    /// `serialized` for tests: the reference the copying path is held to.
    static func errorBySerializing(
        for queryBytes: UnsafeRawBufferPointer, rcode: RCode,
        recursionAvailable: Bool = true,
        udpPayloadSize: UInt16 = defaultUDPPayloadSize
    ) throws(DNSParseError) -> [UInt8] {
        let head = try DNSParser.parseQueryHead(queryBytes)
        return serialized(
            head: head, header: replyHeader(to: head.header, rcode: rcode, recursionAvailable: recursionAvailable),
            udpPayloadSize: udpPayloadSize)
    }

    private static func replyHeader(to query: DNSHeader, rcode: RCode, recursionAvailable: Bool) -> DNSHeader {
        DNSHeader(
            id: query.id, qr: true, opcode: query.opcode, rd: query.rd, ra: recursionAvailable,
            cd: query.cd, rcode: rcode)
    }
}
