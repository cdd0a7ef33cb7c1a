import SluiceModel
import XCTest

@testable import DNS

final class DNSSerializerTests: XCTestCase {
    func testRoundTripEveryTypeWithAndWithoutCompression() throws {
        let message = Fixtures.everyType
        let plain = DNSSerializer.serialize(message, compress: false)
        let compressed = DNSSerializer.serialize(message, compress: true)
        XCTAssertLessThan(compressed.count, plain.count)
        for bytes in [plain, compressed] {
            let parsed = try parse(bytes)
            XCTAssertEqual(parsed, message)
            XCTAssertEqual(try parse(DNSSerializer.serialize(parsed, compress: false)), message)
        }
        XCTAssertEqual(DNSSerializer.serialize(try parse(plain), compress: false), plain)
    }

    func testRoundTripEachTypeAlone() throws {
        for record in Fixtures.everyType.answers {
            let message = DNSMessage(
                header: DNSHeader(id: 7, qr: true), questions: [Question(name: record.name, type: record.type)],
                answers: [record])
            for compress in [false, true] {
                XCTAssertEqual(
                    try parse(DNSSerializer.serialize(message, compress: compress)), message,
                    "\(record.type) compress \(compress)")
            }
        }
    }

    func testCompressionReproducesServerBytes() throws {
        let parsed = try parse(Fixtures.cnameChainResponse)
        XCTAssertEqual(DNSSerializer.serialize(parsed, compress: true), Fixtures.cnameChainResponse)
        let plain = DNSSerializer.serialize(parsed, compress: false)
        XCTAssertEqual(plain.count, Fixtures.cnameChainResponse.count + 3 * 15)
    }

    func testCompressionPointsAtEarlierSuffix() {
        let message = DNSMessage(
            header: DNSHeader(id: 1),
            questions: [Question(name: Fixtures.name("a.example.com"), type: .a)],
            answers: [ResourceRecord(name: Fixtures.name("b.example.com"), ttl: 1, rdata: .a(IPv4Address(1, 2, 3, 4)))])
        let bytes = DNSSerializer.serialize(message, compress: true)
        // Question name at 12: 1 a 7 example 3 com 0 (15 bytes); "example.com" starts at 14.
        XCTAssertEqual(Array(bytes[31..<35]), [1, 0x62, 0xC0, 14])
    }

    func testCompressionKeepsCase() throws {
        let message = DNSMessage(
            header: DNSHeader(id: 1),
            questions: [Question(name: Fixtures.name("WWW.Example.COM"), type: .a)],
            answers: [
                ResourceRecord(name: Fixtures.name("www.example.com"), ttl: 1, rdata: .a(IPv4Address(1, 2, 3, 4)))
            ])
        let parsed = try parse(DNSSerializer.serialize(message, compress: true))
        XCTAssertEqual(parsed.questions[0].name.text, "WWW.Example.COM.")
        XCTAssertEqual(parsed.answers[0].name.text, "www.example.com.")
    }

    func testSRVTargetIsNeverCompressed() {
        let target = Fixtures.name("sip.example.com")
        let message = DNSMessage(
            header: DNSHeader(id: 1), questions: [Question(name: target, type: .srv)],
            answers: [
                ResourceRecord(
                    name: target, ttl: 1,
                    rdata: .srv(priority: 0, weight: 0, port: 1, target: target))
            ])
        let bytes = DNSSerializer.serialize(message, compress: true)
        XCTAssertEqual(Array(bytes.suffix(target.wireLength)), target.wireBytes)
    }

    func testTruncationDropsAnswersAndSetsTC() throws {
        let owner = Fixtures.name("many.example.com")
        let answers = (0..<100).map {
            ResourceRecord(name: owner, ttl: 30, rdata: .a(IPv4Address(10, 0, 0, UInt8($0))))
        }
        let opt = OPTRecord(udpPayloadSize: 1232)
        let message = DNSMessage(
            header: DNSHeader(id: 9, qr: true), questions: [Question(name: owner, type: .a)],
            answers: answers, opt: opt)
        let bytes = DNSSerializer.serialize(message, compress: true, maxSize: 512)
        XCTAssertLessThanOrEqual(bytes.count, 512)
        let parsed = try parse(bytes)
        XCTAssertTrue(parsed.header.tc)
        XCTAssertEqual(parsed.opt, opt)
        // 12 header + 22 question + 11 OPT leave 467 bytes: 16-byte compressed A records -> 29.
        XCTAssertEqual(parsed.answers.count, 29)
        XCTAssertEqual(parsed.answers, Array(answers.prefix(29)))
        let untruncated = try parse(DNSSerializer.serialize(message, compress: true, maxSize: 4096))
        XCTAssertFalse(untruncated.header.tc)
        XCTAssertEqual(untruncated.answers.count, 100)
    }

    func testDroppingOnlyAdditionalsDoesNotSetTC() throws {
        let owner = Fixtures.name("x.example")
        let message = DNSMessage(
            header: DNSHeader(id: 9, qr: true), questions: [Question(name: owner, type: .a)],
            answers: [ResourceRecord(name: owner, ttl: 1, rdata: .a(IPv4Address(1, 1, 1, 1)))],
            additionals: [ResourceRecord(name: owner, ttl: 1, rdata: .txt([[UInt8](repeating: 0x61, count: 200)]))])
        let parsed = try parse(DNSSerializer.serialize(message, compress: true, maxSize: 100))
        XCTAssertFalse(parsed.header.tc)
        XCTAssertEqual(parsed.answers.count, 1)
        XCTAssertTrue(parsed.additionals.isEmpty)
    }

    func testRolledBackRecordLeavesNoDanglingPointer() throws {
        // The first answer introduces a name and does not fit; the OPT and questions must not
        // point into its discarded bytes.
        let message = DNSMessage(
            header: DNSHeader(id: 1, qr: true), questions: [Question(name: .root, type: .ns)],
            answers: [
                ResourceRecord(
                    name: Fixtures.name("long.example"), ttl: 1,
                    rdata: .txt([[UInt8](repeating: 0x61, count: 100)]))
            ],
            additionals: [])
        let parsed = try parse(DNSSerializer.serialize(message, compress: true, maxSize: 40))
        XCTAssertTrue(parsed.header.tc)
        XCTAssertTrue(parsed.answers.isEmpty)
    }

    func testLongTXTStringIsSplit() throws {
        let long = [UInt8](repeating: 0x7A, count: 300)
        let message = DNSMessage(
            header: DNSHeader(id: 1), answers: [ResourceRecord(name: .root, ttl: 0, rdata: .txt([long]))])
        let parsed = try parse(DNSSerializer.serialize(message))
        XCTAssertEqual(parsed.answers.first?.rdata, .txt([Array(long.prefix(255)), Array(long.suffix(45))]))
    }

    func testExtendedRcodeGoesIntoOPT() throws {
        let message = DNSMessage(
            header: DNSHeader(id: 1, qr: true, rcode: .badVers), opt: OPTRecord(udpPayloadSize: 512))
        let bytes = DNSSerializer.serialize(message)
        XCTAssertEqual(bytes[3] & 0x0F, 0)
        XCTAssertEqual(bytes[12 + 5], 1)
        XCTAssertEqual(try parse(bytes).rcode, .badVers)
    }
}
