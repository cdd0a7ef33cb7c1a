import XCTest

@testable import DNS

final class DNSMessageTests: XCTestCase {
    func testRcodeIsTheHeaders() {
        let message = DNSMessage(header: DNSHeader(qr: true, rcode: .servFail))
        XCTAssertEqual(message.rcode, .servFail)
        XCTAssertNil(message.firstQuestion)
        XCTAssertTrue(message.answers.isEmpty && message.authorities.isEmpty && message.additionals.isEmpty)
        XCTAssertNil(message.opt)
    }

    func testFirstQuestionIsTheFirstOfSeveral() throws {
        let first = Question(name: try DomainName("a.example"), type: .a)
        let second = Question(name: try DomainName("b.example"), type: .aaaa)
        let message = DNSMessage(header: DNSHeader(), questions: [first, second])
        XCTAssertEqual(message.firstQuestion, first)
        XCTAssertNotEqual(message.firstQuestion, second)
    }

    func testParsedMessageKeepsExtendedRcodeInTheHeader() throws {
        var message = DNSMessage(
            header: DNSHeader(id: 3, qr: true, rcode: .badVers), opt: OPTRecord(udpPayloadSize: 1232))
        let bytes = DNSSerializer.serialize(message)
        let parsed = try bytes.withUnsafeBytes { try DNSParser.parse($0) }
        XCTAssertEqual(parsed.rcode, .badVers)
        message.opt?.extendedRcode = 1
        XCTAssertEqual(parsed, message)
    }
}
