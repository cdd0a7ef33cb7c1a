/// Decodes DNS messages from wire bytes. Pure: no I/O, no allocation beyond the values returned.
public enum DNSParser {
    /// Smallest possible resource record: root owner, type, class, TTL, rdlength.
    static let minRecordSize = 11
    /// Smallest possible question: root name, type, class.
    static let minQuestionSize = 5

    /// Decodes a whole message.
    ///
    /// Strict where a transparent proxy must not guess: the header counts must match the records
    /// exactly (no missing records, no trailing bytes), at most one OPT record, owned by the root
    /// and in the additional section, and every rdata must be consistent with its type.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(DNSParseError) -> DNSMessage {
        var reader = WireReader(bytes)
        let id = try reader.readU16()
        var header = DNSHeader(id: id, flags: try reader.readU16())
        let questionCount = Int(try reader.readU16())
        let answerCount = Int(try reader.readU16())
        let authorityCount = Int(try reader.readU16())
        let additionalCount = Int(try reader.readU16())

        var questions: [Question] = []
        questions.reserveCapacity(min(questionCount, reader.remaining / minQuestionSize))
        for _ in 0..<questionCount {
            guard !reader.isAtEnd else { throw .countMismatch }
            questions.append(try readQuestion(&reader))
        }
        var opt: OPTRecord?
        let answers = try readSection(&reader, count: answerCount, allowOPT: false, opt: &opt)
        let authorities = try readSection(&reader, count: authorityCount, allowOPT: false, opt: &opt)
        let additionals = try readSection(&reader, count: additionalCount, allowOPT: true, opt: &opt)
        guard reader.isAtEnd else { throw .countMismatch }

        if let opt {
            header.rcode = RCode(UInt16(opt.extendedRcode) << 4 | UInt16(header.rcode.headerBits))
        }
        return DNSMessage(
            header: header, questions: questions, answers: answers, authorities: authorities,
            additionals: additionals, opt: opt)
    }

    static func readQuestion(_ reader: inout WireReader) throws(DNSParseError) -> Question {
        let name = try reader.readName()
        let type = RRType(try reader.readU16())
        return Question(name: name, type: type, class: RRClass(try reader.readU16()))
    }

    /// Reads `count` records. An OPT record is only accepted when `allowOPT` (the additional
    /// section) and goes into `opt` instead of the result.
    private static func readSection(
        _ reader: inout WireReader, count: Int, allowOPT: Bool,
        opt: inout OPTRecord?
    ) throws(DNSParseError) -> [ResourceRecord] {
        var records: [ResourceRecord] = []
        records.reserveCapacity(min(count, reader.remaining / minRecordSize))
        for _ in 0..<count {
            guard !reader.isAtEnd else { throw .countMismatch }
            let name = try reader.readName()
            let fields = try reader.readRecordFields()
            if fields.type == .opt {
                guard allowOPT, opt == nil, name.isRoot else { throw .badOPT }
                opt = try reader.readOPT(fields)
                continue
            }
            let rdata = try reader.readRData(type: fields.type, length: fields.length)
            records.append(
                ResourceRecord(
                    name: name, type: fields.type, class: RRClass(fields.rawClass), ttl: fields.ttl, rdata: rdata))
        }
        return records
    }
}
