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
}
