import SluiceModel

extension DNSWire {
    /// The header counts of a message (QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT), nil when shorter
    /// than a header.
    public static func counts(_ bytes: UnsafeRawBufferPointer)
        -> (questions: UInt16, answers: UInt16, authorities: UInt16, additionals: UInt16)?
    {
        guard bytes.count >= DNSLimits.headerSize else { return nil }
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }
        return (u16(4), u16(6), u16(8), u16(10))
    }

    /// The 4-bit OPCODE, nil when shorter than a header.
    public static func opcode(_ bytes: UnsafeRawBufferPointer) -> UInt8? {
        guard bytes.count >= DNSLimits.headerSize else { return nil }
        return (bytes[2] >> 3) & 0x0F
    }

    /// The only question of a message whose QDCOUNT is 1, read without walking the rest: what
    /// the proxy compares an upstream answer against the query in flight with. Nil when QDCOUNT
    /// is not 1 or the question cannot be read.
    public static func soleQuestion(of bytes: UnsafeRawBufferPointer) -> Question? {
        guard let counts = counts(bytes), counts.questions == 1 else { return nil }
        var reader = WireReader(bytes)
        do {
            try reader.skip(DNSLimits.headerSize)
            return try DNSParser.readQuestion(&reader)
        } catch {
            return nil
        }
    }

    /// Whether `soleQuestion(of:)` is a question of `type` and `class` whose name's
    /// `lowercasedTextBytes` equal `lowercasedText`, decided on the wire bytes: the name is
    /// lower-cased and escaped byte by byte as it is compared, nothing is built (the proxy checks
    /// every upstream answer against its query with it). False wherever `soleQuestion(of:)` is
    /// nil (QDCOUNT not 1, a truncated or overlong name, a bad label type, a compression pointer:
    /// the first name of a message cannot point anywhere valid).
    public static func soleQuestion(
        of bytes: UnsafeRawBufferPointer, matchesLowercasedText text: UnsafeRawBufferPointer, type: UInt16,
        class: UInt16
    ) -> Bool {
        guard let counts = counts(bytes), counts.questions == 1 else { return false }
        var position = DNSLimits.headerSize
        var matched = 0
        var same = true
        var wireLength = 0
        while true {
            guard position < bytes.count else { return false }
            let length = Int(bytes[position])
            guard length & 0xC0 == 0 else { return false }
            if length == 0 {
                position += 1
                if wireLength == 0 {  // the root renders as "."
                    same = text.count == 1 && text[0] == UInt8(ascii: ".")
                    matched = text.count
                }
                break
            }
            guard position + 1 + length <= bytes.count else { return false }
            wireLength += 1 + length
            guard wireLength + 1 <= DNSLimits.maxNameWireLength else { return false }
            if same {
                for i in (position + 1)..<(position + 1 + length) {
                    let e = DomainName.escaped(ASCII.lower(bytes[i]))
                    guard matched + e.count <= text.count, text[matched] == e.1,
                        e.count < 2 || text[matched + 1] == e.2,
                        e.count < 4 || (text[matched + 2] == e.3 && text[matched + 3] == e.4)
                    else {
                        same = false
                        break
                    }
                    matched += e.count
                }
                if same {
                    if matched < text.count, text[matched] == UInt8(ascii: ".") {
                        matched += 1
                    } else {
                        same = false
                    }
                }
            }
            position += 1 + length
        }
        guard position + 4 <= bytes.count else { return false }
        let questionType = UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
        let questionClass = UInt16(bytes[position + 2]) << 8 | UInt16(bytes[position + 3])
        return same && matched == text.count && questionType == type && questionClass == `class`
    }
}
