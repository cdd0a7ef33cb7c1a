import DNS
import XCTest

@testable import Proxy

final class DNSAnswerMatchTests: XCTestCase {
    private let query = DNSQuery(
        client: DNSEndpointAddress(address: 0x0A00_0001, port: 40000),
        server: DNSEndpointAddress(address: 0x0A00_0002, port: 53), proto: 17, steer: nil, originalID: 7,
        qname: Array("www.example.com.".utf8), qtype: RRType.a.rawValue, requestTimeNs: 0)

    private func answer(
        _ name: String = "WWW.Example.com", type: RRType = .a, class: RRClass = .internet, qr: Bool = true,
        opcode: UInt8 = 0, questions: Int = 1
    ) throws -> [UInt8] {
        let question = Question(name: try DomainName(name), type: type, class: `class`)
        return DNSSerializer.serialize(
            DNSMessage(
                header: DNSHeader(id: 99, qr: qr, opcode: opcode, rd: true, ra: true),
                questions: Array(repeating: question, count: questions)))
    }

    private func matches(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { query.isAnswered(by: $0) }
    }

    func testTheSameQuestionAnswersWhateverTheCase() throws {
        XCTAssertTrue(matches(try answer()))
        XCTAssertTrue(matches(try answer("www.example.com.")))
    }

    func testAnythingElseIsNotTheAnswer() throws {
        XCTAssertFalse(matches(try answer("www.example.org")), "other name")
        XCTAssertFalse(matches(try answer("example.com")), "parent name")
        XCTAssertFalse(matches(try answer(type: .aaaa)), "other type")
        XCTAssertFalse(matches(try answer(class: RRClass(3))), "other class")
        XCTAssertFalse(matches(try answer(qr: false)), "a query, not a response")
        XCTAssertFalse(matches(try answer(opcode: 2)), "not opcode QUERY")
        XCTAssertFalse(matches(try answer(questions: 2)), "two questions")
        XCTAssertFalse(matches(try answer(questions: 0)), "no question")
        XCTAssertFalse(matches(Array(try answer().prefix(11))), "shorter than a header")
    }
}
