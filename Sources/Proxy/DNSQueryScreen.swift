import DNS

/// The checks a DNS message passes before any policy sees it, as miekg/dns does for Cilium's
/// proxy (cilium-hardening.md 7, acceptfunc.go): fewer than 12 bytes or QR=1 → dropped without
/// a reply; an opcode other than QUERY → NOTIMP; QDCOUNT ≠ 1, ANCOUNT > 1, NSCOUNT > 1,
/// ARCOUNT > 2 or a body that does not parse → FORMERR. None of these is forwarded, and none
/// writes a flow (Cilium's handler never sees them either); each is counted.
enum DNSQueryScreen {
    enum Outcome {
        /// Refused before policy: the decision to act on.
        case refused(DNSQueryDecision)
        /// A well-formed standard query with exactly one question (its name checked, not built:
        /// `QueryHead.lowercasedQuestionName(in:)` renders it).
        case query(QueryHead, qtype: RRType, qclass: RRClass)
    }

    static func screen(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        guard let counts = DNSWire.counts(bytes), let opcode = DNSWire.opcode(bytes),
            DNSWire.isResponse(bytes) == false
        else { return .refused(.ignore) }
        let head = try? DNSParser.parseQueryHeadLeavingName(bytes)
        guard opcode == 0 else {
            return .refused(
                .notImplemented(
                    head.map { DNSReply.error(for: bytes, head: $0, rcode: .notImp) }
                        ?? headerOnly(bytes, opcode: opcode, rcode: .notImp)))
        }
        guard let head, counts.questions == 1, counts.answers <= 1, counts.authorities <= 1,
            counts.additionals <= 2, head.hasQuestion, let qtype = head.qtype, let qclass = head.qclass
        else {
            return .refused(
                .formatError(
                    head.map { DNSReply.error(for: bytes, head: $0, rcode: .formErr) }
                        ?? headerOnly(bytes, opcode: opcode, rcode: .formErr)))
        }
        return .query(head, qtype: qtype, qclass: qclass)
    }

    /// A reply of the header alone: the query's ID and opcode, QR set, `rcode`.
    private static func headerOnly(_ bytes: UnsafeRawBufferPointer, opcode: UInt8, rcode: RCode) -> [UInt8]? {
        guard let id = DNSWire.id(of: bytes) else { return nil }
        let header = DNSHeader(id: id, qr: true, opcode: opcode, rd: bytes[2] & 0x01 != 0, ra: true, rcode: rcode)
        return DNSSerializer.serialize(DNSMessage(header: header), compress: false)
    }
}
