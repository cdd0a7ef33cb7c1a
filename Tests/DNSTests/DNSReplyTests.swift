import SluiceModel
import SluiceTestSupport
import XCTest

@testable import DNS

final class DNSReplyTests: XCTestCase {
    private func reply(_ query: [UInt8], _ rcode: RCode, recursionAvailable: Bool = true) throws -> [UInt8] {
        let result = query.withUnsafeBytes { raw in
            Result { () throws(DNSParseError) -> [UInt8] in
                try DNSReply.error(for: raw, rcode: rcode, recursionAvailable: recursionAvailable)
            }
        }
        return try result.get()
    }

    func testRefusedWithoutEDNS() throws {
        let expected: [UInt8] = [0x12, 0x34, 0x81, 0x85, 0, 1, 0, 0, 0, 0, 0, 0] + Array(Fixtures.queryExampleA[12...])
        XCTAssertEqual(try reply(Fixtures.queryExampleA, .refused), expected)
    }

    func testNXDomainEchoesOPTWithOurPayloadSizeAndDO() throws {
        let expected: [UInt8] =
            [0xBE, 0xEF, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 1]
            + Array(Fixtures.queryExampleA[12...])
            + [0x00, 0x00, 0x29, 0x04, 0xD0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00]
        XCTAssertEqual(try reply(Fixtures.queryExampleAWithOPT, .nxDomain), expected)
    }

    func testServfailWithoutRAEchoesCDAndOpcode() throws {
        var query = Fixtures.queryExampleA
        query[2] = 0x10 | 0x01  // opcode 2 (STATUS), RD
        query[3] = 0x10  // CD
        let expected: [UInt8] = [0x12, 0x34, 0x91, 0x12, 0, 1, 0, 0, 0, 0, 0, 0] + Array(Fixtures.queryExampleA[12...])
        XCTAssertEqual(try reply(query, .servFail, recursionAvailable: false), expected)
    }

    func testOnlyFirstQuestionIsEchoedAndRecordsDropped() throws {
        let message = DNSMessage(
            header: DNSHeader(id: 5, rd: true),
            questions: [
                Question(name: Fixtures.name("a.test"), type: .a),
                Question(name: Fixtures.name("b.test"), type: .aaaa),
            ],
            answers: [
                ResourceRecord(
                    name: Fixtures.name("a.test"), ttl: 1,
                    rdata: .a(IPv4Address(1, 2, 3, 4)))
            ])
        let parsed = try parse(try reply(DNSSerializer.serialize(message), .refused))
        XCTAssertEqual(parsed.questions, [message.questions[0]])
        XCTAssertTrue(parsed.answers.isEmpty)
        XCTAssertEqual(parsed.rcode, .refused)
    }

    func testFormErrForUnparseableQuestionEchoesOnlyID() throws {
        let garbage: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0]
        XCTAssertEqual(try reply(garbage, .formErr), [0x12, 0x34, 0x80, 0x81, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertThrowsError(try reply(garbage, .refused)) { error in
            XCTAssertEqual(error as? DNSParseError, .truncated)
        }
        XCTAssertThrowsError(try reply([0x12, 0x34, 0x01], .formErr))
    }

    func testFormErrForParseableQueryEchoesQuestion() throws {
        let expected: [UInt8] = [0x12, 0x34, 0x81, 0x81, 0, 1, 0, 0, 0, 0, 0, 0] + Array(Fixtures.queryExampleA[12...])
        XCTAssertEqual(try reply(Fixtures.queryExampleA, .formErr), expected)
    }

    /// The reply the proxy builds by copying the question out of the query is byte for byte the
    /// one the serializer builds from the parsed message: random names (case, escapes, long
    /// labels), types, flags, extra questions, OPT with and without DO, and rcodes up to the
    /// extended ones that need the OPT record's high bits.
    func testCopiedReplyEqualsSerializedReply() throws {
        var generator = SeededRandom(seed: 0x5EED_4E91)
        let labelBytes: [UInt8] = Array("abcXYZ09-_".utf8) + [0x2E, 0x20, 0x5C, 0x00, 0xFF, 0xC3]
        var shapes: Set<String> = []
        for _ in 0..<2000 {
            var labels: [[UInt8]] = []
            for _ in 0..<Int.random(in: 0...3, using: &generator) {
                let count = Bool.random(using: &generator) ? Int.random(in: 1...8, using: &generator) : 63
                labels.append((0..<count).map { _ in labelBytes.randomElement(using: &generator)! })
            }
            let name = try DomainName(labels: labels)
            var header = DNSHeader(
                id: UInt16.random(in: 0...UInt16.max, using: &generator),
                opcode: UInt8.random(in: 0...2, using: &generator),
                rd: Bool.random(using: &generator), cd: Bool.random(using: &generator))
            header.ad = Bool.random(using: &generator)
            var message = DNSMessage(
                header: header,
                questions: [Question(name: name, type: RRType(UInt16.random(in: 1...300, using: &generator)))])
            if Int.random(in: 0..<4, using: &generator) == 0 {
                message.questions.append(Question(name: Fixtures.name("second.test"), type: .aaaa))
            }
            if Bool.random(using: &generator) {
                message.opt = OPTRecord(
                    udpPayloadSize: UInt16.random(in: 512...4096, using: &generator),
                    dnssecOK: Bool.random(using: &generator))
            }
            let query = DNSSerializer.serialize(message, compress: false)
            let rcode = [RCode.refused, .nxDomain, .servFail, .formErr, RCode(16), RCode(23)].randomElement(
                using: &generator)!
            let ra = Bool.random(using: &generator)
            try query.withUnsafeBytes { raw in
                let head = try DNSParser.parseQueryHead(raw)
                let copied = DNSReply.error(for: raw, head: head, rcode: rcode, recursionAvailable: ra)
                let serialized = try DNSReply.errorBySerializing(for: raw, rcode: rcode, recursionAvailable: ra)
                XCTAssertEqual(copied, serialized, "query \(query) rcode \(rcode)")
                XCTAssertEqual(inPlace(query, head: head, rcode: rcode, recursionAvailable: ra), copied)
                let extended = rcode.rawValue > 15
                shapes.insert("opt=\(message.opt != nil) extended=\(extended) questions=\(message.questions.count)")
            }
        }
        // Every shape the comment promises was compared: with and without OPT, extended rcode or
        // not, one or two questions.
        XCTAssertEqual(shapes.count, 8, "\(shapes.sorted())")
    }

    /// `DNSReply.errorInPlace` over a copy of `query`: the reply's bytes, or nil.
    private func inPlace(_ query: [UInt8], head: QueryHead, rcode: RCode, recursionAvailable: Bool = true) -> [UInt8]? {
        var buffer = query
        return buffer.withUnsafeMutableBytes { raw in
            DNSReply.errorInPlace(raw, head: head, rcode: rcode, recursionAvailable: recursionAvailable)
                .map { Array(raw[0..<$0]) }
        }
    }

    /// The denied path's reply written over the query equals the copied one byte for byte, also
    /// when records (answers, authorities, an OPT with DO among additionals) follow the question
    /// and are dropped; a head of other bytes (a question longer than the buffer) builds nothing.
    func testReplyBuiltInPlaceEqualsCopiedReply() throws {
        var message = DNSMessage(
            header: DNSHeader(id: 0xA1B2, rd: true, cd: true),
            questions: [Question(name: Fixtures.name("Db-1.Internal.Example.COM"), type: .aaaa)],
            answers: [
                ResourceRecord(name: Fixtures.name("x.test"), ttl: 9, rdata: .a(IPv4Address(1, 2, 3, 4)))
            ],
            authorities: [
                ResourceRecord(name: Fixtures.name("y.test"), ttl: 9, rdata: .a(IPv4Address(5, 6, 7, 8)))
            ])
        message.opt = OPTRecord(udpPayloadSize: 4096, dnssecOK: true)
        let queries = [
            Fixtures.queryExampleA, Fixtures.queryExampleAWithOPT,
            DNSSerializer.serialize(message, compress: false), DNSSerializer.serialize(message, compress: true),
        ]
        for query in queries {
            for rcode in [RCode.refused, .nxDomain, .formErr, RCode(23)] {
                try query.withUnsafeBytes { raw in
                    let head = try DNSParser.parseQueryHead(raw)
                    let copied = DNSReply.error(for: raw, head: head, rcode: rcode)
                    XCTAssertEqual(inPlace(query, head: head, rcode: rcode), copied, "\(query) \(rcode)")
                    XCTAssertEqual(
                        inPlace(query, head: head, rcode: rcode, recursionAvailable: false),
                        DNSReply.error(for: raw, head: head, rcode: rcode, recursionAvailable: false))
                }
            }
        }
        let head = try Fixtures.queryExampleAWithOPT.withUnsafeBytes { try DNSParser.parseQueryHead($0) }
        XCTAssertNil(inPlace(Array(Fixtures.queryExampleA.prefix(20)), head: head, rcode: .refused))
    }

    func testLowercasedTextBytesAreTheTextsBytes() throws {
        for text in [".", "Example.COM.", "a\\.b.test.", "x\\032y.", "MiXeD-Case_1.internal.example.com."] {
            let name = try DomainName(text)
            XCTAssertEqual(name.lowercasedTextBytes, Array(name.lowercasedText.utf8), text)
        }
        let binary = try DomainName(labels: [[0x41, 0x00, 0xFF, 0x2E]])
        XCTAssertEqual(binary.lowercasedTextBytes, Array(binary.lowercasedText.utf8))
        XCTAssertEqual(String(decoding: binary.lowercasedTextBytes, as: UTF8.self), "a\\000\\255\\..")
    }
}
