/// What the proxy's request path needs from a query, read without decoding the whole message.
public struct QueryHead: Hashable, Sendable {
    /// ID and flags; `rcode` includes the OPT extended bits when an OPT record is present.
    public var header: DNSHeader
    /// QDCOUNT as received.
    public var questionCount: UInt16
    /// The first question, nil when QDCOUNT is 0.
    public var question: Question?
    /// Offset just past the first question (12 when there is none).
    public var questionEnd: Int
    /// The OPT record of the additional section, if any.
    public var opt: OPTRecord?

    public var id: UInt16 { header.id }

    public var hasOPT: Bool { opt != nil }

    /// The first question's name, lower-cased with a trailing dot (`""` when there is none):
    /// the name DNS rules are checked against.
    public var qname: String { question?.name.lowercasedText ?? "" }

    /// The first question's type, nil when there is none.
    public var qtype: RRType? { question?.type }

    /// The first question's class, nil when there is none.
    public var qclass: RRClass? { question?.class }
}

extension DNSParser {
    /// Reads the header and the first question, then walks the rest of the message only to check
    /// its structure and find the OPT record. Names after the first question are skipped, not
    /// decoded, and no record data is copied except the OPT options.
    public static func parseQueryHead(_ bytes: UnsafeRawBufferPointer) throws(DNSParseError) -> QueryHead {
        var reader = WireReader(bytes)
        let id = try reader.readU16()
        var header = DNSHeader(id: id, flags: try reader.readU16())
        let questionCount = try reader.readU16()
        let recordCounts = (try reader.readU16(), try reader.readU16(), try reader.readU16())

        var question: Question?
        if questionCount > 0 {
            question = try readQuestion(&reader)
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
            header: header, questionCount: questionCount, question: question,
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
