import SluiceTestSupport
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

    /// The reference the wire comparison is held to: the question decoded, its name rendered.
    private func decodedMatch(_ message: [UInt8], _ text: [UInt8], type: UInt16, class: UInt16) -> Bool {
        guard let q = message.withUnsafeBytes({ DNSWire.soleQuestion(of: $0) }) else { return false }
        return q.type.rawValue == type && q.class.rawValue == `class` && q.name.lowercasedTextBytes == text
    }

    private func wireMatch(_ message: [UInt8], _ text: [UInt8], type: UInt16, class: UInt16) -> Bool {
        message.withUnsafeBytes { m in
            text.withUnsafeBytes { DNSWire.soleQuestion(of: m, matchesLowercasedText: $0, type: type, class: `class`) }
        }
    }

    private func response(_ name: DomainName, type: RRType = .a) -> [UInt8] {
        DNSSerializer.serialize(
            DNSMessage(header: DNSHeader(id: 1, qr: true), questions: [Question(name: name, type: type)]),
            compress: false)
    }

    /// A table of names and texts: case folds, escapes (`\.`, `\032`, `\\`, `\255`) must
    /// match exactly, prefixes and extensions do not, and the root is ".".
    func testWireNameMatchEqualsTheRenderedNameOnATable() throws {
        let cases: [(name: DomainName, text: String, matches: Bool)] = [
            (try DomainName("Db-1.Internal.Example.COM"), "db-1.internal.example.com.", true),
            (try DomainName("db-1.internal.example.com"), "db-1.internal.example.com", false),
            (try DomainName("db-1.internal.example.com"), "db-1.internal.example.com..", false),
            (try DomainName("db-1.internal.example.com"), "DB-1.internal.example.com.", false),
            (try DomainName("a.example.com"), "b.example.com.", false),
            (try DomainName("a.example.com"), "a.example.co.", false),
            (try DomainName("a.example.co"), "a.example.com.", false),
            (try DomainName("a\\.b.test"), "a\\.b.test.", true),
            (try DomainName("a\\.b.test"), "a.b.test.", false),
            (try DomainName("x\\032Y.test"), "x\\ y.test.", true),
            (try DomainName("x\\032y.test"), "x y.test.", false),
            (try DomainName("x\\032y.test"), "x\\032y.test.", false),
            (try DomainName("x\\009y.test"), "x\\009y.test.", true),
            (try DomainName(labels: [[0x41, 0x00, 0xFF, 0x2E, 0x5C]]), "a\\000\\255\\.\\\\.", true),
            (try DomainName(labels: [[0x41, 0x00, 0xFF, 0x2E, 0x5C]]), "a\\000\\255\\.\\\\", false),
            (DomainName.root, ".", true),
            (DomainName.root, "", false),
            (DomainName.root, "..", false),
            (try DomainName("a"), ".", false),
            (try DomainName("a"), "", false),
        ]
        for c in cases {
            let message = response(c.name)
            let text = Array(c.text.utf8)
            XCTAssertEqual(wireMatch(message, text, type: 1, class: 1), c.matches, "\(c.name) ~ \(c.text)")
            XCTAssertEqual(decodedMatch(message, text, type: 1, class: 1), c.matches, "reference \(c.name)")
            XCTAssertFalse(wireMatch(message, text, type: 28, class: 1), "type differs")
            XCTAssertFalse(wireMatch(message, text, type: 1, class: 3), "class differs")
        }
        // A name of 257 wire bytes (four labels of 63) is no name: neither path matches it.
        let label = [UInt8](repeating: UInt8(ascii: "a"), count: 63)
        var overlong = Array(response(.root).prefix(12))
        for _ in 0..<4 { overlong += [63] + label }
        overlong += [0, 0, 1, 0, 1]
        let text = Array(String(repeating: String(repeating: "a", count: 63) + ".", count: 4).utf8)
        XCTAssertFalse(wireMatch(overlong, text, type: 1, class: 1))
        XCTAssertFalse(decodedMatch(overlong, text, type: 1, class: 1))
        XCTAssertTrue(wireMatch(Array(overlong[..<12]) + Array(overlong[76...]), Array(text[64...]), type: 1, class: 1))
    }

    /// Random names (case, escapes, long labels), random texts (the name's own rendering, another
    /// name's, cut or extended ones) and broken messages (cut at every length, a pointer, a bad
    /// label type, two questions): the wire comparison and the decoded one always agree.
    func testWireNameMatchEqualsTheDecodedPathOnRandomNamesAndBrokenMessages() throws {
        var generator = SeededRandom(seed: 0x0051_A5E5)
        let labelBytes: [UInt8] = Array("abcXYZ09-_".utf8) + [0x2E, 0x20, 0x5C, 0x00, 0xFF, 0xC3, 0x28]
        func randomName() throws -> DomainName {
            var labels: [[UInt8]] = []
            for _ in 0..<Int.random(in: 0...3, using: &generator) {
                let count =
                    Int.random(in: 0..<5, using: &generator) == 0 ? 63 : Int.random(in: 1...6, using: &generator)
                labels.append((0..<count).map { _ in labelBytes.randomElement(using: &generator)! })
            }
            return try DomainName(labels: labels)
        }
        var agreedTrue = 0
        for _ in 0..<3000 {
            let name = try randomName()
            var message = response(name, type: RRType(UInt16.random(in: 1...3, using: &generator)))
            var text = name.lowercasedTextBytes
            switch Int.random(in: 0..<8, using: &generator) {
            case 0: text = try randomName().lowercasedTextBytes
            case 1: text = Array(text.dropLast(Int.random(in: 0...min(3, text.count), using: &generator)))
            case 2: text.append(labelBytes.randomElement(using: &generator)!)
            case 3: message = Array(message.prefix(Int.random(in: 0..<message.count, using: &generator)))
            case 4 where message.count > 13: message[12] = 0xC0 | (message[12] & 0x3F)
            case 5 where message.count > 13: message[12] = 0x40 | (message[12] & 0x3F)
            case 6: message[5] = UInt8.random(in: 0...2, using: &generator)
            default: break
            }
            let type = UInt16.random(in: 1...3, using: &generator)
            let expected = decodedMatch(message, text, type: type, class: 1)
            XCTAssertEqual(wireMatch(message, text, type: type, class: 1), expected, "\(message) ~ \(text)")
            if expected { agreedTrue += 1 }
        }
        XCTAssertGreaterThan(agreedTrue, 100, "enough matching pairs were compared")
    }
}
