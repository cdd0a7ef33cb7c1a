import SluiceModel
import XCTest

@testable import DNS

final class AnswerSummaryTests: XCTestCase {
    func testCNAMEChainFromWireFixture() throws {
        let summary = AnswerSummary.extract(from: try parse(Fixtures.cnameChainResponse))
        XCTAssertEqual(summary.qname, "www.example.com.")
        XCTAssertEqual(summary.qtypes, [.a])
        XCTAssertEqual(summary.ipStrings, ["93.184.216.34", "93.184.216.35"])
        XCTAssertEqual(summary.ttl, 60)
        XCTAssertEqual(summary.cnames, ["cdn.example.net."])
        XCTAssertEqual(summary.rcode, .noError)
        XCTAssertEqual(summary.rrtypes, [.cname, .a, .a])
        XCTAssertFalse(summary.hasOffChainRecords)
    }

    func testMinimumTTLCountsCNAMEAndIgnoresOtherTypes() {
        let www = Fixtures.name("www.example.com")
        let cdn = Fixtures.name("CDN.example.net")
        let message = DNSMessage(
            header: DNSHeader(id: 1, qr: true), questions: [Question(name: www, type: .aaaa)],
            answers: [
                ResourceRecord(name: Fixtures.name("WWW.example.com"), ttl: 20, rdata: .cname(cdn)),
                ResourceRecord(
                    name: Fixtures.name("cdn.example.net"), ttl: 5, rdata: .opaque(type: .rrsig, bytes: [1])),
                ResourceRecord(name: cdn, ttl: 90, rdata: .aaaa(IPv6Address(high: 0x2001_0DB8_0000_0000, low: 1))),
                ResourceRecord(name: Fixtures.name("other.example"), ttl: 1, rdata: .a(IPv4Address(6, 6, 6, 6))),
            ])
        let summary = AnswerSummary.extract(from: message)
        XCTAssertEqual(summary.ttl, 20)
        XCTAssertEqual(summary.cnames, ["CDN.example.net."])
        XCTAssertEqual(summary.ipStrings, ["2001:db8::1"])
        XCTAssertEqual(summary.rrtypes, [.cname, .rrsig, .aaaa])
        XCTAssertTrue(summary.hasOffChainRecords)
    }

    func testNXDomainWithoutAnswers() {
        let message = DNSMessage(
            header: DNSHeader(id: 1, qr: true, rcode: .nxDomain),
            questions: [Question(name: Fixtures.name("nope.example"), type: .a)])
        let summary = AnswerSummary.extract(from: message)
        XCTAssertEqual(summary.rcode, .nxDomain)
        XCTAssertEqual(summary.rcode.hubbleName, "Non-Existent Domain")
        XCTAssertEqual(summary.ttl, UInt32.max)
        XCTAssertTrue(summary.ips.isEmpty)
        XCTAssertFalse(summary.hasNoQuestion)
    }

    func testNoQuestion() {
        let summary = AnswerSummary.extract(from: DNSMessage(header: DNSHeader(id: 1, qr: true)))
        XCTAssertTrue(summary.hasNoQuestion)
        XCTAssertEqual(summary.qname, "")
    }
}
