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
        let expected: [UInt8] = [0xBE, 0xEF, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 1]
            + Array(Fixtures.queryExampleA[12...])
            + [0x00, 0x00, 0x29, 0x04, 0xD0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00]
        XCTAssertEqual(try reply(Fixtures.queryExampleAWithOPT, .nxDomain), expected)
    }

    func testServfailWithoutRAEchoesCDAndOpcode() throws {
        var query = Fixtures.queryExampleA
        query[2] = 0x10 | 0x01          // opcode 2 (STATUS), RD
        query[3] = 0x10                 // CD
        let expected: [UInt8] = [0x12, 0x34, 0x91, 0x12, 0, 1, 0, 0, 0, 0, 0, 0] + Array(Fixtures.queryExampleA[12...])
        XCTAssertEqual(try reply(query, .servFail, recursionAvailable: false), expected)
    }

    func testOnlyFirstQuestionIsEchoedAndRecordsDropped() throws {
        let message = DNSMessage(header: DNSHeader(id: 5, rd: true),
                                 questions: [Question(name: Fixtures.name("a.test"), type: .a),
                                             Question(name: Fixtures.name("b.test"), type: .aaaa)],
                                 answers: [ResourceRecord(name: Fixtures.name("a.test"), ttl: 1,
                                                          rdata: .a(IPAddress.V4(1, 2, 3, 4)))])
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
}
