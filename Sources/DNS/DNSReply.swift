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
    public static func error(for queryBytes: UnsafeRawBufferPointer, rcode: RCode,
                             recursionAvailable: Bool = true,
                             udpPayloadSize: UInt16 = defaultUDPPayloadSize) throws(DNSParseError) -> [UInt8] {
        let head: QueryHead
        do {
            head = try DNSParser.parseQueryHead(queryBytes)
        } catch {
            guard rcode == .formErr, queryBytes.count >= DNSLimits.headerSize else { throw error }
            let header = DNSHeader(id: UInt16(queryBytes[0]) << 8 | UInt16(queryBytes[1]), qr: true,
                                   ra: recursionAvailable, rcode: rcode)
            return DNSSerializer.serialize(DNSMessage(header: header), compress: false)
        }
        var reply = DNSMessage(header: replyHeader(to: head.header, rcode: rcode,
                                                   recursionAvailable: recursionAvailable))
        if let question = head.question {
            reply.questions = [question]
        }
        if let opt = head.opt {
            reply.opt = OPTRecord(udpPayloadSize: udpPayloadSize, dnssecOK: opt.dnssecOK)
        }
        return DNSSerializer.serialize(reply, compress: false)
    }

    private static func replyHeader(to query: DNSHeader, rcode: RCode, recursionAvailable: Bool) -> DNSHeader {
        DNSHeader(id: query.id, qr: true, opcode: query.opcode, rd: query.rd, ra: recursionAvailable,
                  cd: query.cd, rcode: rcode)
    }
}
