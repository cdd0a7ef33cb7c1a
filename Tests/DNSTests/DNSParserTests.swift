import SluiceModel
import XCTest

@testable import DNS

final class DNSParserTests: XCTestCase {
    func testParsesPlainQuery() throws {
        let message = try parse(Fixtures.queryExampleA)
        XCTAssertEqual(message.header.id, 0x1234)
        XCTAssertFalse(message.header.qr)
        XCTAssertTrue(message.header.rd)
        XCTAssertEqual(message.header.opcode, 0)
        XCTAssertEqual(message.questions, [Question(name: Fixtures.name("example.com."), type: .a)])
        XCTAssertNil(message.opt)
        XCTAssertEqual(message.questions.first?.name.lowercasedText, "example.com.")
    }

    func testParsesOPTAndMergesExtendedRcode() throws {
        var bytes = Fixtures.queryExampleAWithOPT
        bytes[3] |= 0x01  // header rcode bits 1
        bytes[29 + 5] = 0x01  // OPT extended rcode 1 -> full rcode 0x11 = 17
        let message = try parse(bytes)
        let opt = try XCTUnwrap(message.opt)
        XCTAssertEqual(opt.udpPayloadSize, 1232)
        XCTAssertTrue(opt.dnssecOK)
        XCTAssertEqual(opt.version, 0)
        XCTAssertEqual(opt.extendedRcode, 1)
        XCTAssertEqual(opt.options, [0x00, 0x0A, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(message.rcode.rawValue, 17)
        XCTAssertTrue(message.header.ad)
        XCTAssertTrue(message.additionals.isEmpty)
    }

    func testParsesCompressedCNAMEChain() throws {
        let message = try parse(Fixtures.cnameChainResponse)
        XCTAssertTrue(message.header.qr)
        XCTAssertTrue(message.header.ra)
        XCTAssertEqual(message.answers.count, 3)
        XCTAssertEqual(message.answers[0].name.text, "www.Example.com.")
        XCTAssertEqual(message.answers[0].rdata, .cname(Fixtures.name("cdn.example.net")))
        XCTAssertEqual(message.answers[0].ttl, 300)
        XCTAssertEqual(message.answers[1].name, Fixtures.name("cdn.example.net"))
        XCTAssertEqual(message.answers[1].rdata, .a(IPv4Address(93, 184, 216, 34)))
        XCTAssertEqual(message.answers[2].rdata, .a(IPv4Address(93, 184, 216, 35)))
    }

    func testParsesEveryTypeFromSerializedMessage() throws {
        let expected = Fixtures.everyType
        for compress in [false, true] {
            let message = try parse(DNSSerializer.serialize(expected, compress: compress))
            XCTAssertEqual(message, expected, "compress \(compress)")
        }
    }

    func testTruncatedAtEveryLength() {
        let full = Fixtures.cnameChainResponse
        for length in 0..<full.count {
            let error = parseError { () throws(DNSParseError) in try parse(Array(full[..<length])) }
            XCTAssertNotNil(error, "length \(length)")
            XCTAssertTrue(
                error == .truncated || error == .countMismatch, "length \(length): \(String(describing: error))")
        }
    }

    func testCountsThatLie() {
        var more = Fixtures.queryExampleA
        more[7] = 1  // ANCOUNT 1, no answer present
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(more) }, .countMismatch)
        XCTAssertEqual(
            parseError { () throws(DNSParseError) in try parse(Fixtures.queryExampleA + [0]) },
            .countMismatch)
        var moreQuestions = Fixtures.queryExampleA
        moreQuestions[5] = 2
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(moreQuestions) }, .countMismatch)
    }

    func testLengthByteAbove63IsAReservedLabelType() {
        // 64 = 0b01000000: the deprecated extended label type (RFC 6891 5), not a length.
        let bytes = header(qd: 1) + [64] + [UInt8](repeating: 0x61, count: 64) + [0, 0, 1, 0, 1]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .badLabelType)
    }

    func testNameTooLong() {
        // Five 63-byte labels: 5 * 64 + 1 = 321 bytes.
        var name: [UInt8] = []
        for _ in 0..<5 { name += [63] + [UInt8](repeating: 0x61, count: 63) }
        let bytes = header(qd: 1) + name + [0, 0, 1, 0, 1]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .nameTooLong)
    }

    func testNameOfExactly255BytesIsAccepted() throws {
        // 3 * 64 + 62 (label of 61) + 1 = 255.
        var name: [UInt8] = []
        for _ in 0..<3 { name += [63] + [UInt8](repeating: 0x61, count: 63) }
        name += [61] + [UInt8](repeating: 0x62, count: 61) + [0]
        XCTAssertEqual(name.count, 255)
        let message = try parse(header(qd: 1) + name + [0, 1, 0, 1])
        XCTAssertEqual(message.questions.first?.name.wireLength, 255)
        let tooLong = header(qd: 1) + [1, 0x63] + name + [0, 1, 0, 1]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(tooLong) }, .nameTooLong)
    }

    func testPointerToItselfIsForward() {
        let bytes = header(qd: 1) + [0xC0, 12, 0, 1, 0, 1]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .pointerForward)
    }

    func testPointerForward() {
        let bytes = header(qd: 1) + [0xC0, 18, 0, 1, 0, 1, 1, 0x61, 0]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .pointerForward)
    }

    func testPointerLoopThroughEarlierLabel() {
        // 12: "a" then pointer back to 12: backwards, yet a loop.
        let bytes = header(qd: 1) + [1, 0x61, 0xC0, 12, 0, 1, 0, 1]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .compressionLoop)
    }

    func testPointerIntoHeaderOrPastEnd() {
        let intoHeader = header(qd: 1) + [0xC0, 2, 0, 1, 0, 1]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(intoHeader) }, .pointerOutOfRange)
        let pastEnd = header(qd: 1) + [0xC1, 0, 0, 1, 0, 1]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(pastEnd) }, .pointerOutOfRange)
    }

    func testTooManyCompressionPointers() {
        XCTAssertEqual(
            parseError { () throws(DNSParseError) in try parse(pointerChain(130)) },
            .tooManyCompressionPointers)
        let accepted = try? parse(pointerChain(DNSLimits.maxCompressionPointers - 1))
        XCTAssertEqual(accepted?.answers.last?.name, .root)
    }

    /// Answer 1 (root owner, opaque type 999) carries `count` pointers in its rdata, each pointing
    /// at the previous one (the first at the root name at offset 12); answer 2's owner points at
    /// the last, so reading it follows `count + 1` pointers.
    private func pointerChain(_ count: Int) -> [UInt8] {
        var bytes = header(an: 2) + [0, 0x03, 0xE7, 0, 1, 0, 0, 0, 0]
        bytes += [UInt8((count * 2) >> 8), UInt8((count * 2) & 0xFF)]
        var previous = 12
        for _ in 0..<count {
            let here = bytes.count
            bytes += [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF)]
            previous = here
        }
        return bytes + [0xC0 | UInt8(previous >> 8), UInt8(previous & 0xFF), 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]
    }

    func testBadLabelType() {
        let bytes = header(qd: 1) + [0x41, 0x61, 0, 0, 1, 0, 1]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .badLabelType)
    }

    func testTwoOPTRecords() {
        var bytes = Fixtures.queryExampleAWithOPT + Fixtures.optRecord
        bytes[11] = 2
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .badOPT)
    }

    func testOPTNotOwnedByRoot() {
        var bytes = Fixtures.queryExampleA + [0xC0, 12] + Fixtures.optRecord.dropFirst()
        bytes[11] = 1
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .badOPT)
    }

    func testOPTInAnswerSection() {
        var bytes = Fixtures.queryExampleA + Fixtures.optRecord
        bytes[7] = 1
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .badOPT)
    }

    func testOPTWithMalformedOptions() {
        var bytes = Fixtures.queryExampleAWithOPT
        bytes[bytes.count - 9] = 0x09  // option length 9 but only 8 bytes follow
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .badOPT)
    }

    func testBadRdata() {
        let owner: [UInt8] = [0xC0, 12]
        func answer(type: UInt16, rdata: [UInt8]) -> [UInt8] {
            var bytes = Fixtures.queryExampleA
            bytes[7] = 1
            bytes += owner + [UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0, 60]
            return bytes + [UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        }
        let cases: [(UInt16, [UInt8])] = [
            (1, [1, 2, 3]),  // A of 3 bytes
            (28, [UInt8](repeating: 0, count: 15)),  // AAAA of 15 bytes
            (5, [1, 0x61, 0, 0xFF]),  // CNAME with a trailing byte
            (5, []),  // CNAME without a name
            (15, [0]),  // MX shorter than its preference
            (16, [5, 0x61]),  // TXT string past rdata
            (6, [0, 0, 0, 0, 0]),  // SOA without its five numbers
            (33, [0, 1, 0, 2, 0, 3]),  // SRV without a target
        ]
        for (type, rdata) in cases {
            XCTAssertEqual(
                parseError { () throws(DNSParseError) in try parse(answer(type: type, rdata: rdata)) },
                .badRdata, "type \(type) rdata \(rdata)")
        }
        // A name inside rdata running past the rdata into the next bytes.
        var overrun = answer(type: 2, rdata: [3, 0x61, 0x62])
        overrun += [0x63, 0]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(overrun) }, .badRdata)
    }

    func testRdlengthPastEnd() {
        var bytes = Fixtures.queryExampleA
        bytes[7] = 1
        bytes += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2]
        XCTAssertEqual(parseError { () throws(DNSParseError) in try parse(bytes) }, .truncated)
    }

    /// A 12-byte header with the given counts.
    private func header(id: UInt16 = 1, qd: UInt16 = 0, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00]
            + [qd, an, ns, ar].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}
