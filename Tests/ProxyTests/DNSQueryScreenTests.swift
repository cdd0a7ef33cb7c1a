import DNS
import SluiceModel
import XCTest

@testable import Proxy

final class DNSQueryScreenTests: XCTestCase {
    private func screen(_ bytes: [UInt8]) -> DNSQueryScreen.Outcome {
        bytes.withUnsafeBytes { DNSQueryScreen.screen($0) }
    }

    private func reply(_ outcome: DNSQueryScreen.Outcome) throws -> DNSMessage? {
        switch outcome {
        case .refused(.formatError(let bytes?)), .refused(.notImplemented(let bytes?)):
            return try bytes.withUnsafeBytes { try DNSParser.parse($0) }
        default:
            return nil
        }
    }

    func testAStandardQueryPasses() throws {
        let bytes = DNSTest.query("API.example.com", id: 5, type: .aaaa)
        guard case .query(let head, let qtype, let qclass) = screen(bytes) else {
            return XCTFail("a plain AAAA query was refused")
        }
        XCTAssertEqual(qtype, .aaaa)
        XCTAssertEqual(qclass, .internet)
        XCTAssertNil(head.question, "the name is checked, not built")
        XCTAssertEqual(bytes.withUnsafeBytes { head.lowercasedQuestionName(in: $0) }, Array("api.example.com.".utf8))
    }

    func testShortMessagesAndResponsesAreDroppedSilently() {
        guard case .refused(.ignore) = screen(Array(DNSTest.query("a.example", id: 1).prefix(11))) else {
            return XCTFail("11 bytes were not ignored")
        }
        var response = DNSTest.query("a.example", id: 1)
        response[2] |= 0x80
        guard case .refused(.ignore) = screen(response) else { return XCTFail("a response was not ignored") }
    }

    func testOtherOpcodesGetNOTIMPWithTheirIDAndOpcode() throws {
        var notify = DNSTest.query("a.example", id: 0x4242)
        notify[2] = (notify[2] & 0x87) | (4 << 3)
        let outcome = screen(notify)
        guard case .refused(.notImplemented) = outcome else { return XCTFail("\(outcome)") }
        let message = try XCTUnwrap(try reply(outcome))
        XCTAssertEqual(message.header.id, 0x4242)
        XCTAssertTrue(message.header.qr)
        XCTAssertEqual(message.header.opcode, 4)
        XCTAssertEqual(message.rcode, .notImp)
    }

    func testMalformedCountsGetFORMERR() throws {
        // QDCOUNT 2, ANCOUNT 2, NSCOUNT 2, ARCOUNT 3, and a body cut short.
        let base = DNSTest.query("a.example", id: 0x0102)
        var cases: [(String, [UInt8])] = []
        for (index, value, label) in [
            (5, 2, "QDCOUNT 2"), (7, 2, "ANCOUNT 2"), (9, 2, "NSCOUNT 2"), (11, 3, "ARCOUNT 3"),
        ] {
            var bytes = base
            bytes[index] = UInt8(value)
            cases.append((label, bytes))
        }
        var noQuestion = Array(base.prefix(12))
        noQuestion[5] = 0
        cases.append(("QDCOUNT 0", noQuestion))
        cases.append(("cut", Array(base.dropLast(3))))
        for (label, bytes) in cases {
            let outcome = screen(bytes)
            guard case .refused(.formatError) = outcome else {
                XCTFail("\(label): \(outcome)")
                continue
            }
            let message = try XCTUnwrap(try reply(outcome), label)
            XCTAssertEqual(message.header.id, 0x0102, label)
            XCTAssertEqual(message.rcode, .formErr, label)
        }
    }

    /// Well-formed messages whose sections hold more records than a query may carry (miekg/dns's
    /// acceptfunc): one answer, one authority and two additionals pass, one more of each is FORMERR.
    func testRecordCountsAtAndOverTheLimit() throws {
        let name = try DomainName("a.example")
        let record = ResourceRecord(name: name, ttl: 1, rdata: .a(IPv4Address(10, 0, 0, 1)))
        func message(answers: Int, authorities: Int, additionals: Int) -> [UInt8] {
            DNSSerializer.serialize(
                DNSMessage(
                    header: DNSHeader(id: 9, rd: true), questions: [Question(name: name, type: .a)],
                    answers: Array(repeating: record, count: answers),
                    authorities: Array(repeating: record, count: authorities),
                    additionals: Array(repeating: record, count: additionals)))
        }
        guard case .query = screen(message(answers: 1, authorities: 1, additionals: 2)) else {
            return XCTFail("a query at the limits was refused")
        }
        for (answers, authorities, additionals) in [(2, 0, 0), (0, 2, 0), (0, 0, 3)] {
            let outcome = screen(message(answers: answers, authorities: authorities, additionals: additionals))
            guard case .refused(.formatError) = outcome else {
                XCTFail("\(answers)/\(authorities)/\(additionals): \(outcome)")
                continue
            }
        }
    }
}
