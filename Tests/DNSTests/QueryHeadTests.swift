import SluiceTestSupport
import XCTest

@testable import DNS

final class QueryHeadTests: XCTestCase {
    func testPlainQuery() throws {
        let head = try parseHead(Fixtures.queryExampleA)
        XCTAssertEqual(head.id, 0x1234)
        XCTAssertTrue(head.header.rd)
        XCTAssertEqual(head.questionCount, 1)
        XCTAssertEqual(head.qname, "example.com.")
        XCTAssertEqual(head.qtype, .a)
        XCTAssertEqual(head.qclass, .internet)
        XCTAssertEqual(head.questionEnd, Fixtures.queryExampleA.count)
        XCTAssertFalse(head.hasOPT)
    }

    func testQueryWithOPTAndMixedCase() throws {
        var bytes = Fixtures.queryExampleAWithOPT
        bytes[13] = 0x45  // "Example"
        let head = try parseHead(bytes)
        XCTAssertEqual(head.id, 0xBEEF)
        XCTAssertEqual(head.qname, "example.com.")
        XCTAssertEqual(head.question?.name.text, "Example.com.")
        XCTAssertEqual(head.questionEnd, 29)
        XCTAssertTrue(head.hasOPT)
        XCTAssertEqual(head.opt?.udpPayloadSize, 1232)
        XCTAssertEqual(head.opt?.dnssecOK, true)
    }

    func testAgreesWithFullParser() throws {
        for bytes in [
            Fixtures.queryExampleA, Fixtures.queryExampleAWithOPT, Fixtures.cnameChainResponse,
            DNSSerializer.serialize(Fixtures.everyType),
        ] {
            let head = try parseHead(bytes)
            let message = try parse(bytes)
            XCTAssertEqual(head.header, message.header)
            XCTAssertEqual(head.question, message.questions.first)
            XCTAssertEqual(head.opt, message.opt)
        }
    }

    func testNoQuestion() throws {
        let head = try parseHead([0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertNil(head.question)
        XCTAssertEqual(head.qname, "")
        XCTAssertNil(head.qtype)
        XCTAssertEqual(head.questionEnd, 12)
    }

    func testMalformedQueries() {
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parseHead([0, 1, 0]) }, .truncated)
        XCTAssertEqual(
            parseError { () throws(DNSParseError) in try parseHead(Array(Fixtures.queryExampleA.dropLast())) },
            .truncated)
        XCTAssertEqual(
            parseError { () throws(DNSParseError) in try parseHead(Fixtures.queryExampleA + [1]) },
            .countMismatch)
        var twoOPT = Fixtures.queryExampleAWithOPT + Fixtures.optRecord
        twoOPT[11] = 2
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parseHead(twoOPT) }, .badOPT)
        var optInAnswers = Fixtures.queryExampleA + Fixtures.optRecord
        optInAnswers[7] = 1
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parseHead(optInAnswers) }, .badOPT)
        var loop = Fixtures.queryExampleA
        loop.replaceSubrange(24...24, with: [0xC0, 12])
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parseHead(loop) }, .compressionLoop)
    }

    /// `parseQueryHeadLeavingName` against `parseQueryHead`: the same error or the same head but
    /// for the undecoded name, and `lowercasedQuestionName(in:)` equal to the decoded name's
    /// `lowercasedTextBytes`; on the fixtures, names with escapes, case and the root, and
    /// mutated and truncated queries (compressed first names among them).
    func testLeavingTheNameAgreesWithDecodingIt() throws {
        var messages: [[UInt8]] = [
            Fixtures.queryExampleA, Fixtures.queryExampleAWithOPT, Fixtures.cnameChainResponse,
            DNSSerializer.serialize(Fixtures.everyType), [0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ]
        for name in [
            "ExAmPle.COM", "a\\.b.c", "x\\ y.test", "\\001\\255.bin", ".", String(repeating: "a.", count: 120),
        ] {
            let question = Question(name: try DomainName(name), type: .aaaa, class: .chaos)
            messages.append(DNSSerializer.serialize(DNSMessage(header: DNSHeader(id: 9), questions: [question])))
        }
        var random = SeededRandom(seed: 0x0DD5_1EAF)
        let seeds = messages
        for _ in 0..<20_000 {
            var bytes = seeds[Int.random(in: 0..<seeds.count, using: &random)]
            switch Int.random(in: 0..<3, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1 where bytes.count > 12:
                bytes[Int.random(in: 12..<bytes.count, using: &random)] =
                    [0xC0, 0x40, 0x80, 0][Int.random(in: 0..<4, using: &random)]
            default:
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            }
            messages.append(bytes)
        }
        var parsed = 0
        for bytes in messages {
            bytes.withUnsafeBytes { raw in
                let full = Result { () throws(DNSParseError) -> QueryHead in try DNSParser.parseQueryHead(raw) }
                let lean = Result { () throws(DNSParseError) -> QueryHead in
                    try DNSParser.parseQueryHeadLeavingName(raw)
                }
                switch (full, lean) {
                case (.failure(let a), .failure(let b)):
                    XCTAssertEqual(a, b, "\(bytes)")
                case (.success(let a), .success(let b)):
                    parsed += 1
                    XCTAssertNil(b.question)
                    var named = b
                    named.question = a.question
                    XCTAssertEqual(named, a, "\(bytes)")
                    XCTAssertEqual(b.hasQuestion, a.question != nil)
                    XCTAssertEqual(b.qtype, a.question?.type)
                    XCTAssertEqual(b.qclass, a.question?.class)
                    XCTAssertEqual(b.lowercasedQuestionName(in: raw), a.question?.name.lowercasedTextBytes ?? [])
                    XCTAssertEqual(a.lowercasedQuestionName(in: raw), b.lowercasedQuestionName(in: raw))
                default:
                    XCTFail("one parse failed, the other did not: \(full) \(lean) for \(bytes)")
                }
            }
        }
        XCTAssertGreaterThan(parsed, 1000, "enough of the mutated queries still parse")
    }
}
