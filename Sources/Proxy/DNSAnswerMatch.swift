import DNS

/// Whether an upstream message is the answer to a query in flight. The caller has already
/// matched its ID (and, over UDP, the address and port the query went to and the socket it left
/// from); this checks the rest: QR set, opcode QUERY, exactly one question, and that question
/// equal to the query's (name case-insensitively, type, class), as unbound and dnsdist require.
/// Cilium compares the ID only (cilium-hardening.md 7); anything that fails here is discarded,
/// never relayed, never learned, and the query keeps waiting for the genuine answer.
extension DNSQuery {
    func isAnswered(by bytes: UnsafeRawBufferPointer) -> Bool {
        guard DNSWire.isResponse(bytes) == true, DNSWire.opcode(bytes) == 0 else { return false }
        return qname.withUnsafeBytes {
            DNSWire.soleQuestion(of: bytes, matchesLowercasedText: $0, type: qtype, class: qclass)
        }
    }
}
