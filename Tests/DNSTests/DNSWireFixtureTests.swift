import Foundation
import SluiceModel
import XCTest

@testable import DNS

/// Answers of a real DNS server for every record type the codec decodes, plus an opaque one
/// (CAA) and an NXDOMAIN with SOA: the bytes dnsmasq 2.90 sent (Fixtures/*.bin, captured by
/// Fixtures/capture.sh), never our serializer's output. Expected values are dnsmasq's
/// configuration in capture.sh. dnsmasq answers authoritatively (QR AA RD), compresses names,
/// adds the zone's NS in the authority section and an OPT with payload 1232.
final class DNSWireFixtureTests: XCTestCase {
    private static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    private func fixture(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let url = Self.directory.appendingPathComponent("\(name).bin")
        return [UInt8](try Data(contentsOf: url))
    }

    private func n(_ text: String) -> DomainName { Fixtures.name(text) }

    private let zoneNS = ResourceRecord(
        name: Fixtures.name("fixture.test"), ttl: 300, rdata: .ns(Fixtures.name("ns1.fixture.test")))

    /// Parses `name`.bin and checks what every dnsmasq answer shares; returns the message.
    private func answer(
        _ name: String, id: UInt16, question: String, type: RRType,
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> DNSMessage {
        let bytes = try fixture(name)
        let message = try parse(bytes)
        XCTAssertEqual(message.header.id, id, file: file, line: line)
        XCTAssertTrue(message.header.qr && message.header.aa && message.header.rd, "QR AA RD", file: file, line: line)
        XCTAssertFalse(message.header.tc, file: file, line: line)
        XCTAssertEqual(message.questions, [Question(name: n(question), type: type)], file: file, line: line)
        XCTAssertEqual(message.opt?.udpPayloadSize, 1232, file: file, line: line)
        XCTAssertEqual(message.opt?.version, 0, file: file, line: line)
        // Whatever we parsed survives our own encoding, compressed or not.
        for compress in [true, false] {
            XCTAssertEqual(
                try parse(DNSSerializer.serialize(message, compress: compress)), message, file: file, line: line)
        }
        // The proxy's query-head parser reads the same question from the raw answer.
        XCTAssertEqual(try parseHead(bytes).question, message.questions.first, file: file, line: line)
        return message
    }

    func testA() throws {
        let m = try answer("a", id: 0x5100, question: "host.fixture.test", type: .a)
        XCTAssertEqual(m.rcode, .noError)
        XCTAssertEqual(
            m.answers, [ResourceRecord(name: n("host.fixture.test"), ttl: 300, rdata: .a(IPv4Address(192, 0, 2, 1)))])
        XCTAssertEqual(m.authorities, [zoneNS])
        let summary = AnswerSummary.extract(from: m)
        XCTAssertEqual(summary.ips, [.v4(IPv4Address(192, 0, 2, 1))])
        XCTAssertEqual(summary.ttl, 300)
    }

    func testAAAA() throws {
        let m = try answer("aaaa", id: 0x5101, question: "host.fixture.test", type: .aaaa)
        let v6 = IPv6Address(high: 0x2001_0DB8_0000_0000, low: 1)
        XCTAssertEqual(m.answers, [ResourceRecord(name: n("host.fixture.test"), ttl: 300, rdata: .aaaa(v6))])
        XCTAssertEqual(AnswerSummary.extract(from: m).ips, [.v6(v6)])
    }

    func testCNAMEThenA() throws {
        let m = try answer("cname", id: 0x5102, question: "alias.fixture.test", type: .a)
        XCTAssertEqual(
            m.answers,
            [
                ResourceRecord(name: n("alias.fixture.test"), ttl: 300, rdata: .cname(n("host.fixture.test"))),
                ResourceRecord(name: n("host.fixture.test"), ttl: 300, rdata: .a(IPv4Address(192, 0, 2, 1))),
            ])
        let summary = AnswerSummary.extract(from: m)
        XCTAssertEqual(summary.cnames, ["host.fixture.test."])
        XCTAssertEqual(summary.ips, [.v4(IPv4Address(192, 0, 2, 1))])
        XCTAssertFalse(summary.hasOffChainRecords)
    }

    func testMX() throws {
        let m = try answer("mx", id: 0x5103, question: "mail.fixture.test", type: .mx)
        XCTAssertEqual(
            m.answers,
            [
                ResourceRecord(
                    name: n("mail.fixture.test"), ttl: 300,
                    rdata: .mx(preference: 10, exchange: n("mx1.fixture.test")))
            ])
    }

    func testTXTWithTwoStrings() throws {
        let m = try answer("txt", id: 0x5104, question: "txt.fixture.test", type: .txt)
        XCTAssertEqual(
            m.answers,
            [
                ResourceRecord(
                    name: n("txt.fixture.test"), ttl: 300,
                    rdata: .txt([Array("v=spf1 -all".utf8), Array("second string".utf8)]))
            ])
    }

    func testSRV() throws {
        let m = try answer("srv", id: 0x5105, question: "_http._tcp.fixture.test", type: .srv)
        XCTAssertEqual(
            m.answers,
            [
                ResourceRecord(
                    name: n("_http._tcp.fixture.test"), ttl: 300,
                    rdata: .srv(priority: 1, weight: 5, port: 8080, target: n("web.fixture.test")))
            ])
    }

    func testPTR() throws {
        let m = try answer("ptr", id: 0x5106, question: "1.2.0.192.in-addr.arpa", type: .ptr)
        XCTAssertEqual(
            m.answers,
            [ResourceRecord(name: n("1.2.0.192.in-addr.arpa"), ttl: 300, rdata: .ptr(n("host.fixture.test")))])
        XCTAssertEqual(
            m.authorities,
            [ResourceRecord(name: n("2.0.192.in-addr.arpa"), ttl: 300, rdata: .ns(n("ns1.fixture.test")))])
    }

    func testNS() throws {
        let m = try answer("ns", id: 0x5107, question: "fixture.test", type: .ns)
        XCTAssertEqual(m.answers, [zoneNS])
        XCTAssertEqual(m.authorities, [])
    }

    private var zoneSOA: RData {
        .soa(
            mname: n("ns1.fixture.test"), rname: n("hostmaster.fixture.test"), serial: 2_024_010_101, refresh: 1200,
            retry: 180, expire: 1_209_600, minimum: 300)
    }

    func testSOA() throws {
        let m = try answer("soa", id: 0x5108, question: "fixture.test", type: .soa)
        XCTAssertEqual(m.answers, [ResourceRecord(name: n("fixture.test"), ttl: 300, rdata: zoneSOA)])
    }

    /// A type the codec does not decode (CAA, RFC 8659) stays opaque with its exact bytes.
    func testCAAIsKeptOpaque() throws {
        let m = try answer("caa", id: 0x5109, question: "caa.fixture.test", type: .caa)
        XCTAssertEqual(
            m.answers,
            [
                ResourceRecord(
                    name: n("caa.fixture.test"), type: .caa, class: .internet, ttl: 300,
                    rdata: .opaque(type: .caa, bytes: [0, 5] + Array("issueca test.org".utf8)))
            ])
        XCTAssertTrue(AnswerSummary.extract(from: m).ips.isEmpty)
    }

    func testNXDomainWithSOA() throws {
        let m = try answer("nxdomain", id: 0x510A, question: "absent.fixture.test", type: .a)
        XCTAssertEqual(m.rcode, .nxDomain)
        XCTAssertEqual(m.answers, [])
        XCTAssertEqual(m.authorities, [ResourceRecord(name: n("fixture.test"), ttl: 300, rdata: zoneSOA)])
        let summary = AnswerSummary.extract(from: m)
        XCTAssertEqual(summary.rcode, .nxDomain)
        XCTAssertTrue(summary.ips.isEmpty)
    }

    /// Every fixture fed to the TCP framer split at every byte offset comes out whole.
    func testEveryFixtureSplitAnywhereThroughTheTCPFramer() throws {
        for name in ["a", "aaaa", "cname", "mx", "txt", "srv", "ptr", "ns", "soa", "caa", "nxdomain"] {
            let bytes = try fixture(name)
            let framed = try XCTUnwrap(DNSTCPFramer.frame(bytes))
            for split in 0...framed.count {
                var framer = DNSTCPFramer()
                var messages = try framed[..<split].withUnsafeBytes { try framer.feed($0) }
                messages += try framed[split...].withUnsafeBytes { try framer.feed($0) }
                XCTAssertEqual(messages, [bytes], "\(name) split at \(split)")
            }
        }
    }
}
