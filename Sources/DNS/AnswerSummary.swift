import SluiceModel

/// What a DNS response tells the proxy and Hubble, extracted the way Cilium's
/// `dnsproxy.ExtractMsgDetails` does it. Made only by `extract(from:)` (the memberwise init is
/// internal).
public struct AnswerSummary: Hashable, Sendable {
    /// First question's name, lower-cased, trailing dot (`""` without a question).
    public var qname: String
    /// The type of every question.
    public var qtypes: [RRType]
    /// A and AAAA addresses on the CNAME chain, in answer order.
    public var ips: [IPAddress]
    /// Lowest TTL over the A, AAAA and CNAME records on the chain; `UInt32.max` when there are
    /// none (Cilium starts from `math.MaxUint32` too).
    public var ttl: UInt32
    /// CNAME targets on the chain, in presentation form with their case as received (Cilium
    /// records `ans.Target` unchanged).
    public var cnames: [String]
    /// The full response code.
    public var rcode: RCode
    /// Types of the answer records on the chain, in answer order.
    public var rrtypes: [RRType]
    /// True when an answer record is owned by a name other than the one the chain expects at that
    /// point. Cilium rejects the whole message then (`Unexpected name ... in RRs`); here the record
    /// is skipped and this flag lets the caller do the same.
    public var hasOffChainRecords: Bool
    /// True when the message has no question (Cilium: "Invalid DNS message").
    public var hasNoQuestion: Bool

    /// Walks the answer section in order: each record must be owned by the current chain name
    /// (case-insensitive), starting at the first question's name; a CNAME moves the chain to its
    /// target. Authority and additional records are not looked at.
    public static func extract(from message: DNSMessage) -> AnswerSummary {
        var summary = AnswerSummary(
            qname: "", qtypes: message.questions.map(\.type), ips: [], ttl: UInt32.max,
            cnames: [], rcode: message.rcode, rrtypes: [], hasOffChainRecords: false,
            hasNoQuestion: message.questions.isEmpty)
        guard let question = message.questions.first else { return summary }
        summary.qname = question.name.lowercasedText
        var chainName = question.name
        for record in message.answers {
            guard record.name == chainName else {
                summary.hasOffChainRecords = true
                continue
            }
            switch record.rdata {
            case .a(let address):
                summary.ips.append(.v4(address))
                summary.ttl = min(summary.ttl, record.ttl)
            case .aaaa(let address):
                summary.ips.append(.v6(address))
                summary.ttl = min(summary.ttl, record.ttl)
            case .cname(let target):
                summary.ttl = min(summary.ttl, record.ttl)
                summary.cnames.append(target.text)
                chainName = target
            default:
                break
            }
            summary.rrtypes.append(record.type)
        }
        return summary
    }

    /// IPs as text (dotted quad, RFC 5952), as Hubble prints them.
    public var ipStrings: [String] { ips.map(\.description) }
}
