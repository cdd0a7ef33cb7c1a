import XCTest

@testable import DNS

final class DNSWireQuestionTests: XCTestCase {
    func testCountsReadsTheFourHeaderCounts() {
        var bytes: [UInt8] = [0, 0, 0, 0, 0x00, 0x01, 0x01, 0x02, 0x00, 0x03, 0xFF, 0x04]
        let counts = bytes.withUnsafeBytes { DNSWire.counts($0) }
        XCTAssertEqual(counts?.questions, 1)
        XCTAssertEqual(counts?.answers, 0x0102)
        XCTAssertEqual(counts?.authorities, 3)
        XCTAssertEqual(counts?.additionals, 0xFF04)
        bytes.removeLast()
        XCTAssertNil(bytes.withUnsafeBytes { DNSWire.counts($0) })
        XCTAssertNil(bytes.withUnsafeBytes { DNSWire.opcode($0) })
    }

    func testOpcode() {
        var bytes = Fixtures.queryExampleA
        XCTAssertEqual(bytes.withUnsafeBytes { DNSWire.opcode($0) }, 0)
        bytes[2] = 0x80 | (4 << 3) | 0x01  // QR, NOTIFY, RD
        XCTAssertEqual(bytes.withUnsafeBytes { DNSWire.opcode($0) }, 4)
    }

    func testSoleQuestionOfAQueryAndOfACompressedResponse() throws {
        let query = Fixtures.queryExampleA.withUnsafeBytes { DNSWire.soleQuestion(of: $0) }
        XCTAssertEqual(query, Question(name: try DomainName("example.com"), type: .a))
        let answer = Fixtures.cnameChainResponse.withUnsafeBytes { DNSWire.soleQuestion(of: $0) }
        XCTAssertEqual(answer?.name.text, "www.Example.com.")
        XCTAssertEqual(answer?.type, .a)
        XCTAssertEqual(answer?.class, .internet)
    }

    func testSoleQuestionIsNilUnlessExactlyOneReadableQuestion() {
        var two = Fixtures.queryExampleA
        two[5] = 2
        XCTAssertNil(two.withUnsafeBytes { DNSWire.soleQuestion(of: $0) })
        var none = Fixtures.queryExampleA
        none[5] = 0
        XCTAssertNil(none.withUnsafeBytes { DNSWire.soleQuestion(of: $0) })
        let cut = Array(Fixtures.queryExampleA.dropLast(1))
        XCTAssertNil(cut.withUnsafeBytes { DNSWire.soleQuestion(of: $0) })
    }
}
