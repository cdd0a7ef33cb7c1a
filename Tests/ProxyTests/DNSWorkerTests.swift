import CSluiceShared
import DNS
import Flows
import Glibc
import SluiceModel
import XCTest

@testable import Proxy

/// The decision and answer phases of one DNS proxy worker (`DNSWorker`): denied queries refused
/// (or NXDOMAIN) with one dropped flow and no upstream traffic, names matched case-insensitively.
final class DNSWorkerTests: XCTestCase {
    func testDeniedQueryIsRefusedWithOneDroppedFlow() throws {
        let h = try DNSProxyHarness()
        let answer = try parse(h.ask(DNSTest.query("www.other.test.", id: 7)))
        XCTAssertEqual(answer.header.id, 7)
        XCTAssertEqual(answer.rcode, .refused)
        XCTAssertEqual(answer.questions.first?.name.lowercasedText, "www.other.test.")
        XCTAssertTrue(h.upstream.receivedIDs.isEmpty)
        h.drain()  // the round that answered has ended: every flow of this query is written
        let flows = h.sink.flows
        XCTAssertEqual(flows.count, 1)
        XCTAssertEqual(flows.first?.verdict, .dropped)
        XCTAssertEqual(h.counters().rejected, 1)
    }

    func testNameErrorRejectMode() throws {
        let h = try DNSProxyHarness(config: DNSProxyConfig(rejectResponseCode: .nameError))
        XCTAssertEqual(try parse(h.ask(DNSTest.query("x.other.test.", id: 9))).rcode, .nxDomain)
    }

    func testMatchingIsCaseInsensitive() throws {
        let h = try DNSProxyHarness()
        XCTAssertEqual(try parse(h.ask(DNSTest.query("WWW.Allowed.TEST.", id: 3))).rcode, .noError)
    }

    /// A CNAME chain with an off-chain record, an AAAA and an A, compressed, from the upstream.
    private func chainAnswer(to query: [UInt8]) throws -> [UInt8] {
        var message = try query.withUnsafeBytes { try DNSParser.parse($0) }
        let owner = message.questions[0].name
        let target = try DomainName("cdn.example.net.")
        message.header.qr = true
        message.header.ra = true
        message.answers = [
            ResourceRecord(name: owner, ttl: 300, rdata: .cname(target)),
            ResourceRecord(name: try DomainName("other.test."), ttl: 1, rdata: .a(IPv4Address(6, 6, 6, 6))),
            ResourceRecord(name: target, ttl: 50, rdata: .aaaa(IPv6Address(high: 0x2001_0db8_0000_0000, low: 9))),
            ResourceRecord(name: target, ttl: 40, rdata: .a(IPv4Address(192, 0, 2, 9))),
        ]
        return DNSSerializer.serialize(message)
    }

    /// The relay path (no toFQDNs selector: nothing held): the answer goes back byte for byte with
    /// the client's ID, and its response flow carries what `AnswerScan` read on the wire: the
    /// chain's addresses in order (not the off-chain one), the lowest TTL on it, its types.
    func testARelayedAnswerKeepsItsBytesAndItsFlowCarriesTheChain() throws {
        let h = try DNSHostileHarness(learning: false)
        let sent = try XCTUnwrap(h.forward(DNSTest.query("www.allowed.test.", id: 0x2222)))
        var answer = try chainAnswer(to: sent.bytes)
        DNSTest.send(h.upstream, answer, port: sent.port)
        let received = try XCTUnwrap(DNSTest.receive(h.client)?.bytes)
        DNSWire.setID(0x2222, in: &answer)
        XCTAssertEqual(received, answer, "relayed unchanged but for the ID")
        let flows = h.sink.waitForFlows(2)
        let response = try XCTUnwrap(flows.first { $0.isReply == true })
        XCTAssertEqual(response.verdict, .forwarded)
        let dns = try XCTUnwrap(response.l7?.dns)
        XCTAssertEqual(dns.ips, ["2001:db8::9", "192.0.2.9"])
        XCTAssertEqual(dns.ttl, 40)
        XCTAssertEqual(dns.rcode, 0)
        XCTAssertEqual(Set(dns.rrtypes), ["A", "AAAA", "CNAME"])
        XCTAssertEqual(h.counters().answers, 1)
    }

    /// An answer the parser rejects (a byte after the last record) is not relayed: the client gets
    /// SERVFAIL with its ID, the response flow is an ERROR, the answer is counted malformed.
    func testAnAnswerWithTrailingBytesIsServFail() throws {
        let h = try DNSHostileHarness(learning: false)
        let sent = try XCTUnwrap(h.forward(DNSTest.query("www.allowed.test.", id: 0x3333)))
        DNSTest.send(h.upstream, try chainAnswer(to: sent.bytes) + [0], port: sent.port)
        let reply = try parse(DNSTest.receive(h.client)?.bytes)
        XCTAssertEqual(reply.header.id, 0x3333)
        XCTAssertEqual(reply.rcode, .servFail)
        XCTAssertTrue(reply.answers.isEmpty)
        let flows = h.sink.waitForFlows(2)
        let response = try XCTUnwrap(flows.first { $0.isReply == true })
        XCTAssertEqual(response.verdict, .error)
        XCTAssertEqual(response.l7?.dns?.rcode, 2)
        XCTAssertEqual(h.counters().malformedAnswers, 1)
        XCTAssertEqual(h.counters().answers, 0)
    }
}

extension DNSWorkerTests {
    /// A deny cache that keeps what the worker inserts (any thread).
    final class RecordingDenyCache: DNSDenyCache {
        private let lock = NSLock()
        private var inserted: [(sluice_dns_deny_key, sluice_dns_deny_value)] = []
        let generation: UInt64
        init(generation: UInt64) { self.generation = generation }
        func insert(_ key: UnsafePointer<sluice_dns_deny_key>, _ value: UnsafePointer<sluice_dns_deny_value>) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            inserted.append((key.pointee, value.pointee))
            return true
        }
        var entries: [(sluice_dns_deny_key, sluice_dns_deny_value)] {
            lock.lock()
            defer { lock.unlock() }
            return inserted
        }
    }

    /// A refused UDP query goes into the deny cache once, with the generation read, the reply's
    /// rcode and its request flow's query and policy; an allowed one, and a refused one tc would
    /// not answer (an OPT record with an option), do not.
    func testARefusedQueryIsPutIntoTheDenyCacheWithWhatTcNeeds() throws {
        let cache = RecordingDenyCache(generation: 42)
        let h = try DNSProxyHarness(denyCache: cache)
        let query = DNSTest.query("WWW.Other.test.", id: 7)
        XCTAssertEqual(try parse(h.ask(query)).rcode, .refused)
        XCTAssertEqual(try parse(h.ask(DNSTest.query("www.allowed.test.", id: 8))).rcode, .noError)
        var cookie = DNSTest.query("www.other.test.", id: 9)
        cookie[11] = 1
        cookie += [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 8, 0, 10, 0, 4, 1, 2, 3, 4]
        XCTAssertEqual(try parse(h.ask(cookie)).rcode, .refused)
        h.drain()
        let entries = cache.entries
        XCTAssertEqual(entries.count, 1)
        let (key, value) = try XCTUnwrap(entries.first)
        let expected = try XCTUnwrap(
            query.withUnsafeBytes {
                DNSDenyKey.make($0, client: DNSTest.loopback, server: DNSTest.loopback, serverPort: h.port)
            })
        XCTAssertEqual(key.client_ip4, DNSTest.loopback)
        XCTAssertEqual(key.server_port, h.port)
        XCTAssertEqual(key.name_len, expected.name_len)
        XCTAssertEqual(withUnsafeBytes(of: key.name) { Array($0) }, withUnsafeBytes(of: expected.name) { Array($0) })
        XCTAssertEqual(value.generation, 42)
        XCTAssertEqual(value.rcode, 5)
        XCTAssertEqual(Int(value.query_len), "www.other.test.".utf8.count)
        XCTAssertEqual(
            withUnsafeBytes(of: value.query) { Array($0[0..<Int(value.query_len)]) }, Array("www.other.test.".utf8))
        XCTAssertEqual(h.counters().denialsCached, 1)
    }

    /// A refusal decided with a steering entry older than the last change to the steering maps
    /// is not cached: tc would answer with a decision of the old maps.
    func testARefusalDecidedWithAnOldSteeringEntryIsNotCached() throws {
        let cache = RecordingDenyCache(generation: 1)
        let h = try DNSProxyHarness(denyCache: cache, steeringEpoch: (epoch: 3, lastChangeNs: UInt64.max))
        XCTAssertEqual(try parse(h.ask(DNSTest.query("www.other.test.", id: 7))).rcode, .refused)
        h.drain()
        XCTAssertTrue(cache.entries.isEmpty)
        XCTAssertEqual(h.counters().rejected, 1)
    }
}
