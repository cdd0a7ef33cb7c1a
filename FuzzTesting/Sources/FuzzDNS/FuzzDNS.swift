import CFuzzDriver
import DNS

/// libFuzzer entry: arbitrary bytes as a DNS message, through every entry point the proxy uses on
/// untrusted input: the full parser, the query-head parser (with and without the name built), the FORMERR/REFUSED reply builder,
/// the answer summary, and the TCP framer. A message that parses must serialize, and what the
/// serializer writes must parse again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let message = try? DNSParser.parse(bytes) {
        _ = AnswerSummary.extract(from: message)
        let wire = DNSSerializer.serialize(message)
        let reparsed = wire.withUnsafeBytes { try? DNSParser.parse($0) }
        precondition(reparsed != nil, "serialized message does not parse")
        let plain = DNSSerializer.serialize(message, compress: false)
        precondition(plain.withUnsafeBytes { (try? DNSParser.parse($0)) != nil }, "uncompressed form does not parse")
    }
    let head = try? DNSParser.parseQueryHead(bytes)
    // The proxy's lean head (name checked, not built) fails exactly when the full one does, and
    // renders the same qname.
    let lean = try? DNSParser.parseQueryHeadLeavingName(bytes)
    precondition((head == nil) == (lean == nil), "lean and full query heads disagree on validity")
    if let head, let lean {
        precondition(lean.qtype == head.qtype && lean.qclass == head.qclass && lean.questionEnd == head.questionEnd)
        precondition(
            lean.lowercasedQuestionName(in: bytes) == (head.question?.name.lowercasedTextBytes ?? []),
            "lean and full query heads render different names")
        // An independent oracle for the rendering: the wire comparison escapes byte by byte.
        if lean.questionCount == 1, let qtype = lean.qtype, let qclass = lean.qclass {
            let qname = lean.lowercasedQuestionName(in: bytes)
            precondition(
                qname.withUnsafeBytes {
                    DNSWire.soleQuestion(
                        of: bytes, matchesLowercasedText: $0, type: qtype.rawValue, class: qclass.rawValue)
                },
                "the rendered qname does not match the question on the wire")
        }
    }
    _ = try? DNSReply.error(for: bytes, rcode: .formErr)
    _ = try? DNSReply.error(for: bytes, rcode: .refused)
    var framer = DNSTCPFramer()
    _ = try? framer.feed(bytes)
    return 0
}

/// The executable's entry (see CFuzzDriver.h): libFuzzer's driver with this target's callback.
@_cdecl("FuzzDNS_main")
public func fuzzDNSMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzDNS(data, size)
    }
}
