import Foundation
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import DNS

/// `AnswerScan.scan` against the path it replaces on the proxy's answer path,
/// `AnswerSummary.extract(from: DNSParser.parse(bytes))`: it throws exactly when the parser
/// throws (the same error), and otherwise finds the same rcode, addresses, TTL, CNAMEs and
/// record types on the chain.
final class AnswerScanTests: XCTestCase {
    private func scan(_ bytes: [UInt8], ips: inout [IPAddress]) throws(DNSParseError) -> AnswerScan {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(DNSParseError) -> AnswerScan in try AnswerScan.scan(raw, ips: &ips) }
        }
        return try result.get()
    }

    /// Scan and parse agree on `bytes`; returns the scan (nil when both threw).
    @discardableResult
    private func agree(_ bytes: [UInt8], _ context: String = "", file: StaticString = #filePath, line: UInt = #line)
        -> AnswerScan?
    {
        var ips: [IPAddress] = [.v4(IPv4Address(10, 9, 9, 9))]  // replaced by the scan
        let scanned: Result<AnswerScan, DNSParseError> = Result { () throws(DNSParseError) in
            try scan(bytes, ips: &ips)
        }
        let parsed: Result<DNSMessage, DNSParseError> = Result { () throws(DNSParseError) in try parse(bytes) }
        switch (scanned, parsed) {
        case (.failure(let a), .failure(let b)):
            XCTAssertEqual(a, b, "different errors \(context) \(bytes)", file: file, line: line)
            return nil
        case (.success(let s), .success(let message)):
            let summary = AnswerSummary.extract(from: message)
            XCTAssertEqual(s.rcode, summary.rcode, "rcode \(context) \(bytes)", file: file, line: line)
            XCTAssertEqual(ips, summary.ips, "ips \(context) \(bytes)", file: file, line: line)
            XCTAssertEqual(s.ttl, summary.ttl, "ttl \(context) \(bytes)", file: file, line: line)
            XCTAssertEqual(s.cnames, summary.cnames.count, "cnames \(context) \(bytes)", file: file, line: line)
            XCTAssertEqual(s.hasA, summary.rrtypes.contains(.a), "A \(context)", file: file, line: line)
            XCTAssertEqual(s.hasAAAA, summary.rrtypes.contains(.aaaa), "AAAA \(context)", file: file, line: line)
            XCTAssertEqual(s.hasCNAME, summary.rrtypes.contains(.cname), "CNAME \(context)", file: file, line: line)
            let other = summary.rrtypes.contains { $0 != .a && $0 != .aaaa && $0 != .cname }
            XCTAssertEqual(s.hasOther, other, "other types \(context) \(bytes)", file: file, line: line)
            return s
        case (.success, .failure(let error)):
            XCTFail("scan accepts what the parser rejects (\(error)) \(context) \(bytes)", file: file, line: line)
            return nil
        case (.failure(let error), .success):
            XCTFail("scan rejects (\(error)) what the parser accepts \(context) \(bytes)", file: file, line: line)
            return nil
        }
    }

    private func n(_ text: String) -> DomainName { Fixtures.name(text) }

    func testCompressedCNAMEChain() throws {
        let s = try XCTUnwrap(agree(Fixtures.cnameChainResponse))
        var ips: [IPAddress] = []
        _ = try scan(Fixtures.cnameChainResponse, ips: &ips)
        XCTAssertEqual(ips, [.v4(IPv4Address(93, 184, 216, 34)), .v4(IPv4Address(93, 184, 216, 35))])
        XCTAssertEqual(s.ttl, 60)
        XCTAssertEqual(s.cnames, 1)
        XCTAssertEqual(s.rcode, .noError)
        XCTAssertTrue(s.hasA && s.hasCNAME && !s.hasAAAA && !s.hasOther)
    }

    /// dnsmasq's own answers (Fixtures/*.bin): every record type, NXDOMAIN with SOA, OPT.
    func testRealServerAnswers() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        var count = 0
        for name in ["a", "aaaa", "caa", "cname", "mx", "ns", "nxdomain", "ptr", "soa", "srv", "txt"] {
            guard let data = try? Data(contentsOf: directory.appendingPathComponent("\(name).bin")) else { continue }
            XCTAssertNotNil(agree([UInt8](data), name), name)
            count += 1
        }
        XCTAssertGreaterThanOrEqual(count, 9)
    }

    /// A record owned by another name is skipped (off the chain), owners match case-insensitively
    /// through pointers, a chain of two CNAMEs moves twice, AAAA is read in full, records of
    /// other types on the chain count as "other" without an address.
    func testChainRules() throws {
        let question = n("WWW.example.com")
        let message = DNSMessage(
            header: DNSHeader(id: 7, qr: true, rd: true, ra: true, rcode: .noError),
            questions: [Question(name: question, type: .a)],
            answers: [
                ResourceRecord(name: n("www.EXAMPLE.com"), ttl: 500, rdata: .cname(n("a.example.net"))),
                ResourceRecord(name: n("elsewhere.test"), ttl: 1, rdata: .a(IPv4Address(1, 1, 1, 1))),
                ResourceRecord(name: n("A.example.net"), ttl: 400, rdata: .cname(n("b.example.org"))),
                ResourceRecord(name: n("b.example.org"), ttl: 300, rdata: .txt([Array("x".utf8)])),
                ResourceRecord(
                    name: n("b.example.org"), ttl: 200,
                    rdata: .aaaa(IPv6Address(high: 0x2001_0DB8_0000_0001, low: 0x0000_0000_0000_00FF))),
                ResourceRecord(name: n("b.example.org"), ttl: 250, rdata: .a(IPv4Address(192, 0, 2, 7))),
                ResourceRecord(name: n("www.example.com"), ttl: 2, rdata: .a(IPv4Address(2, 2, 2, 2))),
            ])
        for compress in [true, false] {
            let bytes = DNSSerializer.serialize(message, compress: compress)
            let s = try XCTUnwrap(agree(bytes, "compress \(compress)"))
            var ips: [IPAddress] = []
            _ = try scan(bytes, ips: &ips)
            XCTAssertEqual(
                ips,
                [
                    .v6(IPv6Address(high: 0x2001_0DB8_0000_0001, low: 0x0000_0000_0000_00FF)),
                    .v4(IPv4Address(192, 0, 2, 7)),
                ])
            XCTAssertEqual(s.ttl, 200)
            XCTAssertEqual(s.cnames, 2)
            XCTAssertTrue(s.hasOther && s.hasA && s.hasAAAA && s.hasCNAME)
        }
    }

    /// The OPT record's extended rcode bits make the full rcode (BADVERS = 16), and no question
    /// means no chain.
    func testExtendedRcodeAndNoQuestion() throws {
        var message = DNSMessage(
            header: DNSHeader(id: 1, qr: true, rcode: RCode(16)), questions: [],
            answers: [ResourceRecord(name: n("x.test"), ttl: 5, rdata: .a(IPv4Address(10, 0, 0, 1)))],
            opt: OPTRecord(udpPayloadSize: 1232))
        let s = try XCTUnwrap(agree(DNSSerializer.serialize(message)))
        XCTAssertEqual(s.rcode, RCode(16))
        XCTAssertEqual(s.ttl, UInt32.max)
        XCTAssertFalse(s.hasA)
        message.header.rcode = .nxDomain
        XCTAssertEqual(agree(DNSSerializer.serialize(message))?.rcode, .nxDomain)
    }

    /// Random answers (chains, off-chain and other records, OPT, compressed or not) and 40,000
    /// mutations of them and of the fixtures: both paths throw the same error or agree.
    func testRandomAndBrokenMessagesAgreeWithTheParser() throws {
        var rng = SeededRandom(seed: 0x5CA1_AB1E)
        let labels = ["a", "B", "cdn", "Example", "net", "x-1", "w"]
        func randomName() -> DomainName {
            let count = Int.random(in: 1...4, using: &rng)
            return n((0..<count).map { _ in labels.randomElement(using: &rng)! }.joined(separator: "."))
        }
        func randomAnswer() -> [UInt8] {
            let question = randomName()
            var chain = question
            var answers: [ResourceRecord] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                let owner = Int.random(in: 0..<4, using: &rng) == 0 ? randomName() : chain
                let ttl = UInt32.random(in: 0...1000, using: &rng)
                let rdata: RData
                switch Int.random(in: 0..<6, using: &rng) {
                case 0:
                    let target = randomName()
                    chain = target
                    rdata = .cname(target)
                case 1: rdata = .aaaa(IPv6Address(high: UInt64.random(in: 0...UInt64.max, using: &rng), low: 1))
                case 2: rdata = .mx(preference: 5, exchange: randomName())
                case 3: rdata = .txt([Array("t".utf8)])
                default: rdata = .a(IPv4Address(hostOrder: UInt32.random(in: 0...UInt32.max, using: &rng)))
                }
                answers.append(ResourceRecord(name: owner, ttl: ttl, rdata: rdata))
            }
            let message = DNSMessage(
                header: DNSHeader(
                    id: 9, qr: true, rd: true, ra: true, rcode: RCode(UInt16.random(in: 0...5, using: &rng))),
                questions: [Question(name: question, type: .a)], answers: answers,
                authorities: Int.random(in: 0..<2, using: &rng) == 0
                    ? [] : [ResourceRecord(name: randomName(), ttl: 60, rdata: .ns(randomName()))],
                additionals: [],
                opt: Int.random(in: 0..<2, using: &rng) == 0
                    ? nil : OPTRecord(udpPayloadSize: 1232, extendedRcode: UInt8.random(in: 0...1, using: &rng)))
            return DNSSerializer.serialize(message, compress: Bool.random(using: &rng))
        }
        let interesting: [UInt8] = [0x00, 0x01, 0x0C, 0x29, 0x3F, 0x40, 0x80, 0xC0, 0xC1, 0xFF]
        var corpus = [Fixtures.cnameChainResponse, DNSSerializer.serialize(Fixtures.everyType, compress: true)]
        var accepted = 0
        var rejected = 0
        for iteration in 0..<40_000 {
            if iteration % 4 == 0 { corpus.append(randomAnswer()) }
            var bytes = corpus[Int.random(in: 0..<corpus.count, using: &rng)]
            if iteration % 3 != 0 {
                for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
                    let at = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<5, using: &rng) {
                    case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                    case 1: bytes[at] = interesting.randomElement(using: &rng)!
                    case 2: bytes = Array(bytes.prefix(at))
                    case 3: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                    default:
                        if bytes.count >= 12 {
                            bytes[Int.random(in: 4..<12, using: &rng)] = UInt8.random(in: 0...3, using: &rng)
                        }
                    }
                }
            }
            if agree(bytes, "iteration \(iteration)") != nil { accepted += 1 } else { rejected += 1 }
            if corpus.count > 200 { corpus.removeFirst(100) }
        }
        XCTAssertGreaterThan(accepted, 10_000)
        XCTAssertGreaterThan(rejected, 5_000)
    }

    /// The addresses array is emptied by every scan and its storage reused.
    func testAddressesAreReplacedEachScan() throws {
        var ips: [IPAddress] = []
        ips.reserveCapacity(16)
        _ = try scan(Fixtures.cnameChainResponse, ips: &ips)
        XCTAssertEqual(ips.count, 2)
        let capacity = ips.capacity
        _ = try scan(DNSSerializer.serialize(DNSMessage(header: DNSHeader(id: 1, qr: true))), ips: &ips)
        XCTAssertEqual(ips, [])
        XCTAssertEqual(ips.capacity, capacity)
    }
}
