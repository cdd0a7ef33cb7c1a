/// A whole DNS message (RFC 1035 4.1), fully decoded.
///
/// Produced by `DNSParser.parse`, written by `DNSSerializer.serialize`. The OPT record, if any,
/// is held in `opt` and not in `additionals`; its extended rcode bits are merged into
/// `header.rcode`.
public struct DNSMessage: Hashable, Sendable {
    public var header: DNSHeader
    public var questions: [Question]
    public var answers: [ResourceRecord]
    public var authorities: [ResourceRecord]
    public var additionals: [ResourceRecord]
    public var opt: OPTRecord?

    public init(
        header: DNSHeader, questions: [Question] = [], answers: [ResourceRecord] = [],
        authorities: [ResourceRecord] = [], additionals: [ResourceRecord] = [], opt: OPTRecord? = nil
    ) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
        self.opt = opt
    }

    /// The full response code (header bits plus OPT extended bits).
    public var rcode: RCode { header.rcode }

    /// The first question, the only one Cilium looks at.
    public var firstQuestion: Question? { questions.first }
}
