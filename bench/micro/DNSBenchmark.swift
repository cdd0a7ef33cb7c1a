import DNS
import SluiceModel

/// The DNS proxy's user-space work per query that does not need sockets: the denied path
/// (screen the query, render its name, build REFUSED) with the reply copied into a new array as
/// before and written over the query in place (`DNSReply.errorInPlace`), then with the head parsed
/// without building its name (`parseQueryHeadLeavingName`, the qname rendered from the wire, as
/// the proxy does since s21-dns), and the check of an
/// upstream answer against its query (the question decoded and its name rendered, as before,
/// against the comparison on the wire, `DNSWire.soleQuestion(of:matchesLowercasedText:...)`), and
/// what the relay reads of an answer (parsed into a `DNSMessage` and summarised, as before,
/// against `AnswerScan` on the wire).
enum DNSBenchmark {
    static func query(_ name: String, id: UInt16) throws -> [UInt8] {
        DNSSerializer.serialize(
            DNSMessage(
                header: DNSHeader(id: id, rd: true), questions: [Question(name: try DomainName(name), type: .a)]),
            compress: false)
    }

    static func run() throws {
        // The bench/dns.sh denied set.
        let names = [
            "denied.example.com", "evil.test", "a.b.internal.example.com", "internal.example.com",
            "xallowed.example.com",
        ]
        let queries = try names.enumerated().map { try query($0.element, id: UInt16($0.offset)) }
        let n = 400_000
        var slot = [UInt8](repeating: 0, count: 512)

        var checksum = 0
        let copied = timed {
            for i in 0..<n {
                queries[i % queries.count].withUnsafeBytes { raw in
                    guard let head = try? DNSParser.parseQueryHead(raw), let question = head.question else { return }
                    let qname = question.name.lowercasedTextBytes
                    let reply = DNSReply.error(for: raw, head: head, rcode: .refused)
                    checksum &+= qname.count &+ reply.count
                }
            }
        }
        var inPlaceChecksum = 0
        let inPlace = timed {
            for i in 0..<n {
                let q = queries[i % queries.count]
                slot.withUnsafeMutableBytes { buffer in
                    let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<q.count])
                    q.withUnsafeBytes { bytes.copyMemory(from: $0) }  // recvmmsg wrote it here
                    guard let head = try? DNSParser.parseQueryHead(UnsafeRawBufferPointer(bytes)),
                        let question = head.question
                    else { return }
                    let qname = question.name.lowercasedTextBytes
                    let length = DNSReply.errorInPlace(bytes, head: head, rcode: .refused) ?? 0
                    inPlaceChecksum &+= qname.count &+ length
                }
            }
        }
        // The head parsed without building its name (`parseQueryHeadLeavingName`), the name
        // rendered straight from the query's bytes: one array per query instead of two.
        var leanChecksum = 0
        let lean = timed {
            for i in 0..<n {
                let q = queries[i % queries.count]
                slot.withUnsafeMutableBytes { buffer in
                    let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<q.count])
                    q.withUnsafeBytes { bytes.copyMemory(from: $0) }
                    guard let head = try? DNSParser.parseQueryHeadLeavingName(UnsafeRawBufferPointer(bytes)),
                        head.hasQuestion
                    else { return }
                    let qname = head.lowercasedQuestionName(in: UnsafeRawBufferPointer(bytes))
                    let length = DNSReply.errorInPlace(bytes, head: head, rcode: .refused) ?? 0
                    leanChecksum &+= qname.count &+ length
                }
            }
        }
        check(checksum == inPlaceChecksum && checksum > 0, "in-place replies differ in length from copied ones")
        check(leanChecksum == inPlaceChecksum, "replies from the lean head differ in length")
        print("dns denied query (screen, name, REFUSED), reply copied to an array: \(Int(copied / Double(n))) ns/query")
        print("dns denied query (screen, name, REFUSED), reply written in place:  \(Int(inPlace / Double(n))) ns/query")
        print("dns denied query, head without its name, name from the wire:       \(Int(lean / Double(n))) ns/query")

        // Answers: the allowed set's names in a response with two A records.
        let answers = try names.map { name -> ([UInt8], [UInt8]) in
            let owner = try DomainName(name)
            var message = DNSMessage(
                header: DNSHeader(id: 1, qr: true, rd: true, ra: true), questions: [Question(name: owner, type: .a)])
            message.answers = [
                ResourceRecord(name: owner, ttl: 30, rdata: .a(IPv4Address(10, 0, 0, 1))),
                ResourceRecord(name: owner, ttl: 30, rdata: .a(IPv4Address(10, 0, 0, 2))),
            ]
            return (DNSSerializer.serialize(message), owner.lowercasedTextBytes)
        }
        var decodedMatches = 0
        let decoded = timed {
            for i in 0..<n {
                let (answer, qname) = answers[i % answers.count]
                answer.withUnsafeBytes { raw in
                    if let q = DNSWire.soleQuestion(of: raw), q.type.rawValue == 1, q.class.rawValue == 1,
                        q.name.lowercasedTextBytes == qname
                    {
                        decodedMatches += 1
                    }
                }
            }
        }
        var wireMatches = 0
        let wire = timed {
            for i in 0..<n {
                let (answer, qname) = answers[i % answers.count]
                answer.withUnsafeBytes { raw in
                    qname.withUnsafeBytes {
                        if DNSWire.soleQuestion(of: raw, matchesLowercasedText: $0, type: 1, class: 1) {
                            wireMatches += 1
                        }
                    }
                }
            }
        }
        check(decodedMatches == n && wireMatches == n, "answer checks disagree: \(decodedMatches) \(wireMatches)")
        print("dns answer check against its query, question decoded: \(Int(decoded / Double(n))) ns/answer")
        print("dns answer check against its query, on the wire:      \(Int(wire / Double(n))) ns/answer")

        // What the relay reads of an answer (rcode, the chain's addresses, TTL, types): the
        // message parsed and summarised, as before, against the scan on the wire (`AnswerScan`).
        var parsedIPs = 0
        let parsed = timed {
            for i in 0..<n {
                answers[i % answers.count].0.withUnsafeBytes { raw in
                    guard let message = try? DNSParser.parse(raw) else { return }
                    parsedIPs &+= AnswerSummary.extract(from: message).ips.count
                }
            }
        }
        var scannedIPs = 0
        var ips: [IPAddress] = []
        ips.reserveCapacity(16)
        let scanned = timed {
            for i in 0..<n {
                answers[i % answers.count].0.withUnsafeBytes { raw in
                    guard (try? AnswerScan.scan(raw, ips: &ips)) != nil else { return }
                    scannedIPs &+= ips.count
                }
            }
        }
        check(parsedIPs == 2 * n && scannedIPs == parsedIPs, "answer summaries disagree: \(parsedIPs) \(scannedIPs)")
        print("dns answer summary (rcode, addresses, TTL), parsed:   \(Int(parsed / Double(n))) ns/answer")
        print("dns answer summary (rcode, addresses, TTL), scanned:  \(Int(scanned / Double(n))) ns/answer")
    }
}
