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
}
