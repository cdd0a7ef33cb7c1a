/// What the proxy's request path needs from a query, read without decoding the whole message.
public struct QueryHead: Hashable, Sendable {
    /// ID and flags; `rcode` includes the OPT extended bits when an OPT record is present.
    public var header: DNSHeader
    /// QDCOUNT as received.
    public var questionCount: UInt16
    /// The first question, nil when QDCOUNT is 0, and from `parseQueryHeadLeavingName` (which
    /// checks the name but does not build it: see `hasQuestion`, `qtype`, `qclass`).
    public var question: Question?
    /// The first question's type and class, nil when QDCOUNT is 0.
    public var qtype: RRType?
    public var qclass: RRClass?
    /// Offset just past the first question (12 when there is none).
    public var questionEnd: Int
    /// The OPT record of the additional section, if any.
    public var opt: OPTRecord?

    public var id: UInt16 { header.id }

    public var hasOPT: Bool { opt != nil }

    /// Whether the message has a first question (QDCOUNT > 0), decoded into `question` or not.
    public var hasQuestion: Bool { questionCount > 0 }

    /// The first question's name, lower-cased with a trailing dot (`""` when there is none):
    /// the name DNS rules are checked against.
    public var qname: String { question?.name.lowercasedText ?? "" }

    /// The first question's name as `DomainName.lowercasedTextBytes` renders it, read straight
    /// from `bytes`, the message this head was parsed from (one array, no `DomainName`): the
    /// first name of a message cannot be compressed (a pointer must point before it and past the
    /// header), so its labels lie at offset 12. `[UInt8(ascii: ".")]` for the root; `[]` without
    /// a question.
    public func lowercasedQuestionName(in bytes: UnsafeRawBufferPointer) -> [UInt8] {
        guard hasQuestion, questionEnd - 4 <= bytes.count, questionEnd - 4 > DNSLimits.headerSize else { return [] }
        return DomainName.renderBytes(
            wire: UnsafeRawBufferPointer(rebasing: bytes[DNSLimits.headerSize..<(questionEnd - 4)]), lowercase: true)
    }
}

extension DNSParser {
    /// Reads the header and the first question, then walks the rest of the message only to check
    /// its structure and find the OPT record. Names after the first question are skipped, not
    /// decoded, and no record data is copied except the OPT options.
    public static func parseQueryHead(_ bytes: UnsafeRawBufferPointer) throws(DNSParseError) -> QueryHead {
        try parseQueryHead(bytes, decodingName: true)
    }

    /// `parseQueryHead` without building the first question's name: the same checks, the same
    /// errors and the same head, except that `question` is nil (`hasQuestion`, `qtype` and
    /// `qclass` say what it was; `lowercasedQuestionName(in:)` renders its name). The proxy's
    /// query path: one allocation fewer per query.
    public static func parseQueryHeadLeavingName(_ bytes: UnsafeRawBufferPointer) throws(DNSParseError) -> QueryHead {
        try parseQueryHead(bytes, decodingName: false)
    }

    @inline(__always)
    private static func parseQueryHead(_ bytes: UnsafeRawBufferPointer, decodingName: Bool) throws(DNSParseError)
        -> QueryHead
    {
        var reader = WireReader(bytes)
        let id = try reader.readU16()
        var header = DNSHeader(id: id, flags: try reader.readU16())
        let questionCount = try reader.readU16()
        let recordCounts = (try reader.readU16(), try reader.readU16(), try reader.readU16())

        var question: Question?
        var qtype: RRType?
        var qclass: RRClass?
        if questionCount > 0 {
            if decodingName {
                let q = try readQuestion(&reader)
                (question, qtype, qclass) = (q, q.type, q.class)
            } else {
                try reader.checkName()
                qtype = RRType(try reader.readU16())
                qclass = RRClass(try reader.readU16())
            }
        }
        let questionEnd = reader.offset
        for _ in 1..<max(Int(questionCount), 1) {
            guard !reader.isAtEnd else { throw .countMismatch }
            try reader.skipName()
            try reader.skip(4)
        }
        let opt = try skipRecords(
            &reader, answers: Int(recordCounts.0), authorities: Int(recordCounts.1),
            additionals: Int(recordCounts.2))
        guard reader.isAtEnd else { throw .countMismatch }
        if let opt {
            header.rcode = RCode(UInt16(opt.extendedRcode) << 4 | UInt16(header.rcode.headerBits))
        }
        return QueryHead(
            header: header, questionCount: questionCount, question: question, qtype: qtype, qclass: qclass,
            questionEnd: questionEnd, opt: opt)
    }

    /// Steps over the three record sections with the same OPT rules as `parse`, returning the OPT.
    private static func skipRecords(
        _ reader: inout WireReader, answers: Int, authorities: Int,
        additionals: Int
    ) throws(DNSParseError) -> OPTRecord? {
        var opt: OPTRecord?
        let total = answers + authorities + additionals
        for index in 0..<total {
            guard !reader.isAtEnd else { throw .countMismatch }
            let isRoot = try reader.skipName()
            let fields = try reader.readRecordFields()
            guard fields.type == .opt else {
                try reader.skip(fields.length)
                continue
            }
            guard index >= answers + authorities, opt == nil, isRoot else { throw .badOPT }
            opt = try reader.readOPT(fields)
        }
        return opt
    }
}
