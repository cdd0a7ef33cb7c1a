import CSluiceShared
import DNS
import SluiceTestSupport
import XCTest

@testable import Proxy

/// The deny cache key as the proxy builds it (tc builds the same from the same bytes: the
/// BPF_PROG_RUN tests in AgentTests/Adapters/DatapathSteering+DNSDenyTests.swift find the
/// proxy's entries with tc's keys): which queries get one, and its bytes.
final class DNSDenyKeyTests: XCTestCase {
    static func query(_ labels: [String], arcount: UInt8 = 0, tail: [UInt8] = []) -> [UInt8] {
        var bytes: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, arcount]
        for label in labels {
            bytes.append(UInt8(label.utf8.count))
            bytes += Array(label.utf8)
        }
        return bytes + [0, 0, 1, 0, 1] + tail
    }

    static func key(_ bytes: [UInt8]) -> sluice_dns_deny_key? {
        bytes.withUnsafeBytes { DNSDenyKey.make($0, client: 0x0A0A_0A0A, server: 0x3535_3535, serverPort: 53) }
    }

    static func name(_ key: sluice_dns_deny_key) -> [UInt8] {
        withUnsafeBytes(of: key.name) { Array($0) }
    }

    func testTheKeyIsTheWireNameLowerCasedAndZeroPadded() throws {
        let key = try XCTUnwrap(Self.key(Self.query(["WwW", "Ex-Ample", "COM"])))
        XCTAssertEqual(key.client_ip4, 0x0A0A_0A0A)
        XCTAssertEqual(key.server_ip4, 0x3535_3535)
        XCTAssertEqual(key.server_port, 53)
        let wire: [UInt8] = [3] + Array("www".utf8) + [8] + Array("ex-ample".utf8) + [3] + Array("com".utf8) + [0]
        XCTAssertEqual(Int(key.name_len), wire.count)
        XCTAssertEqual(Self.name(key), wire + [UInt8](repeating: 0, count: 256 - wire.count))
        XCTAssertEqual(key._pad, 0)
    }

    func testOnlyASCIILettersAreLowerCased() throws {
        // '@' (0x40), '[' (0x5B), 0xC1 stay; 'A' and 'Z' move (the last 'A' becomes 0xC1).
        let bytes = Self.query(["A@Z[\u{41}"]).enumerated().map { $0.offset == 17 ? UInt8(0xC1) : $0.element }
        let key = try XCTUnwrap(Self.key(bytes))
        XCTAssertEqual(Array(Self.name(key)[0..<7]), [5, 0x61, 0x40, 0x7A, 0x5B, 0xC1, 0])
    }

    func testSameNameInAnyCaseIsOneKeyAndOtherNamesAreNot() throws {
        let a = try XCTUnwrap(Self.key(Self.query(["Example", "ORG"])))
        let b = try XCTUnwrap(Self.key(Self.query(["eXAMPLE", "org"])))
        let c = try XCTUnwrap(Self.key(Self.query(["example", "orgs"])))
        let d = try XCTUnwrap(Self.key(Self.query(["example.org"])))  // one label with a dot
        XCTAssertEqual(Self.name(a), Self.name(b))
        XCTAssertNotEqual(Self.name(a), Self.name(c))
        XCTAssertNotEqual(Self.name(a), Self.name(d))
    }

    func testTheLongestNameHasAKeyAndOneByteMoreHasNone() throws {
        let label = String(repeating: "x", count: 63)
        XCTAssertEqual(
            try XCTUnwrap(Self.key(Self.query([label, label, label, String(repeating: "y", count: 61)]))).name_len, 255)
        XCTAssertNil(Self.key(Self.query([label, label, label, String(repeating: "y", count: 62)])))
    }

    func testAnEDNSQueryWithoutOptionsHasAKey() throws {
        let opt: [UInt8] = [0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0]
        XCTAssertNotNil(Self.key(Self.query(["example", "com"], arcount: 1, tail: opt)))
        XCTAssertNil(
            Self.key(Self.query(["example", "com"], arcount: 1, tail: opt.dropLast(2) + [0, 4, 0, 10, 0, 0])))
        XCTAssertNil(
            Self.key(Self.query(["example", "com"], arcount: 1, tail: [1, 0x61] + opt.dropFirst())), "owner not root")
        var notOPT = opt
        notOPT[2] = 1
        XCTAssertNil(Self.key(Self.query(["example", "com"], arcount: 1, tail: notOPT)))
    }

    func testUnusualQueriesHaveNoKey() {
        let plain = Self.query(["example", "com"])
        func with(_ index: Int, _ value: UInt8) -> [UInt8] {
            var bytes = plain
            bytes[index] = value
            return bytes
        }
        XCTAssertNotNil(Self.key(plain))
        XCTAssertNil(Self.key(with(2, 0x81)), "QR")
        XCTAssertNil(Self.key(with(2, 0x09)), "opcode 1")
        XCTAssertNil(Self.key(with(2, 0x03)), "TC")
        XCTAssertNil(Self.key(with(5, 2)), "QDCOUNT 2")
        XCTAssertNil(Self.key(with(5, 0)), "QDCOUNT 0")
        XCTAssertNil(Self.key(with(7, 1)), "ANCOUNT 1")
        XCTAssertNil(Self.key(with(9, 1)), "NSCOUNT 1")
        XCTAssertNil(Self.key(with(11, 2)), "ARCOUNT 2")
        XCTAssertNil(Self.key(plain + [0]), "a byte after the question")
        XCTAssertNil(Self.key(Array(plain.dropLast())), "a cut question")
        XCTAssertNil(Self.key(Array(plain[0..<12]) + [0xC0, 0x0C, 0, 1, 0, 1]), "a compressed name")
        XCTAssertNil(Self.key(Array(plain[0..<12]) + [0x41, 0x61, 0, 0, 1, 0, 1]), "a label type 01")
        XCTAssertNil(Self.key(Array(plain[0..<11])), "no header")
    }

    func testTheValueCarriesTheFlowsQueryCutAsTheRecordCutsIt() {
        let value = DNSDenyKey.value(generation: 9, rcode: .nxDomain, qname: Array("a.example.".utf8), policyRef: 42)
        XCTAssertEqual(value.generation, 9)
        XCTAssertEqual(value.rcode, 3)
        XCTAssertEqual(value.policy_ref, 42)
        XCTAssertEqual(value.query_len, 10)
        XCTAssertEqual(withUnsafeBytes(of: value.query) { Array($0[0..<11]) }, Array("a.example.".utf8) + [0])
        let long = DNSDenyKey.value(
            generation: 1, rcode: .refused, qname: [UInt8](repeating: 0x61, count: 300), policyRef: 0)
        XCTAssertEqual(long.query_len, 256)
        XCTAssertEqual(long.rcode, 5)
    }

    /// tc answers a keyed query only from an entry the proxy inserted for a query with the same
    /// key, so every message with a key must be one the proxy takes as a standard query (not
    /// FORMERR, not NOTIMP), whose question is the key's name, and whose reply is exactly as long
    /// as itself (tc rewrites in place): checked on 30,000 mutations of five queries.
    func testEveryMessageWithAKeyIsAQueryTheProxyDecidesAndAnswersAtItsOwnLength() {
        var random = SeededRandom(seed: 19)
        let opt: [UInt8] = [0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0]
        let label = String(repeating: "q", count: 63)
        let seeds = [
            Self.query(["www", "Example", "com"]),
            Self.query(["example", "com"], arcount: 1, tail: opt),
            Self.query([label, label, label, String(repeating: "z", count: 61)]),
            Self.query([]),
            Self.query(["a"], arcount: 1, tail: opt),
        ]
        var keyed = 0
        for round in 0..<30_000 {
            var bytes = seeds[round % seeds.count]
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                switch Int.random(in: 0..<4, using: &random) {
                case 0 where !bytes.isEmpty:
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                case 1 where !bytes.isEmpty:
                    bytes[Int.random(in: 0..<min(bytes.count, 20), using: &random)] ^=
                        UInt8(1) << UInt8.random(in: 0..<8, using: &random)
                case 2 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 1...min(bytes.count, 4), using: &random))
                default: bytes.append(UInt8.random(in: 0...255, using: &random))
                }
            }
            guard let key = Self.key(bytes) else { continue }
            keyed += 1
            let outcome = bytes.withUnsafeBytes { DNSQueryScreen.screen($0) }
            guard case .query(let head, _, _) = outcome else {
                XCTFail("a key for a message the proxy does not take as a query: \(bytes)")
                return
            }
            XCTAssertEqual(head.questionEnd, DNSLimits.headerSize + Int(key.name_len) + 4)
            var copy = bytes
            let length = copy.withUnsafeMutableBytes { DNSReply.errorInPlace($0, head: head, rcode: .refused) }
            XCTAssertEqual(length, bytes.count, "the reply is as long as the query")
        }
        XCTAssertGreaterThan(keyed, 1_000, "enough mutations kept a key to mean something")
    }
}
