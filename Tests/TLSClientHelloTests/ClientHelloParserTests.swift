import XCTest

@testable import TLSClientHello

/// Real clients' first flights (Fixtures/*.bin, captured on loopback by Fixtures/capture.py),
/// whole, split at every offset, re-fragmented over many records, and broken on purpose.
final class ClientHelloParserTests: XCTestCase {
    private func hello(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> ClientHello? {
        guard case .parsed(let hello) = ClientHelloParser.parse(bytes) else {
            XCTFail("not parsed: \(ClientHelloParser.parse(bytes))", file: file, line: line)
            return nil
        }
        return hello
    }

    // MARK: Real clients

    func testOpenSSLWithSNIAndALPN() {
        let fixture = ClientHelloFixtures.opensslSniAlpn
        XCTAssertEqual(
            hello(fixture),
            ClientHello(
                serverName: "api.example.com", alpnProtocols: ["h2", "http/1.1"],
                legacyVersion: 0x0303, recordBytes: fixture.count))
    }

    func testOpenSSLTLS12LowerCasesTheName() {
        let fixture = ClientHelloFixtures.opensslTls12Sni
        XCTAssertEqual(
            hello(fixture),
            ClientHello(
                serverName: "legacy.example.org", alpnProtocols: [],
                legacyVersion: 0x0303, recordBytes: fixture.count))
    }

    func testCurlOffersH2AndHTTP11() {
        let fixture = ClientHelloFixtures.curlSni
        XCTAssertEqual(
            hello(fixture),
            ClientHello(
                serverName: "www.example.test", alpnProtocols: ["h2", "http/1.1"],
                legacyVersion: 0x0303, recordBytes: fixture.count))
    }

    func testCurlHTTP11OnlyOffersHTTP11() {
        XCTAssertEqual(hello(ClientHelloFixtures.curlHttp11)?.serverName, "files.example.test")
        XCTAssertEqual(hello(ClientHelloFixtures.curlHttp11)?.alpnProtocols, ["http/1.1"])
    }

    func testCurlToAnIPLiteralSendsNoSNI() {
        let parsed = hello(ClientHelloFixtures.curlIpLiteral)
        XCTAssertNotNil(parsed)
        XCTAssertNil(parsed?.serverName)
        XCTAssertEqual(parsed?.alpnProtocols, ["h2", "http/1.1"])
    }

    /// Every prefix is `.needMore`, and the whole is parsed the same whatever the split was (the
    /// parser is stateless, so a split is a prefix followed by the whole).
    func testEveryFixtureSplitAtEveryOffset() {
        for fixture in ClientHelloFixtures.all {
            guard case .parsed(let whole) = ClientHelloParser.parse(fixture) else { return XCTFail("fixture") }
            for cut in 0..<fixture.count {
                XCTAssertEqual(ClientHelloParser.parse(Array(fixture[..<cut])), .needMore, "cut \(cut)")
            }
            XCTAssertEqual(ClientHelloParser.parse(fixture), .parsed(whole))
        }
    }

    /// The same handshake message spread over records of 1, 2, 7 and 100 bytes, each split at every offset.
    func testRecordLayerFragmentation() {
        for fixture in ClientHelloFixtures.all {
            guard case .parsed(let whole) = ClientHelloParser.parse(fixture) else { return XCTFail("fixture") }
            for size in [1, 2, 7, 100] {
                let message = Array(fixture[5...])
                let fragmented = Self.fragment(message, size: size)
                let records = (message.count + size - 1) / size
                let limits = ClientHelloLimits(maxRecords: records)
                var expected = whole
                expected.recordBytes = fragmented.count
                XCTAssertEqual(ClientHelloParser.parse(fragmented, limits: limits), .parsed(expected), "size \(size)")
                for cut in stride(from: 0, to: fragmented.count, by: size == 1 ? 13 : 1) {
                    XCTAssertEqual(ClientHelloParser.parse(Array(fragmented[..<cut]), limits: limits), .needMore)
                }
                if records > 1 {
                    XCTAssertEqual(
                        ClientHelloParser.parse(fragmented, limits: ClientHelloLimits(maxRecords: records - 1)),
                        .malformed(.tooManyRecords))
                }
            }
        }
    }

    func testBytesAfterTheHelloRecordsAreNotRead() {
        let fixture = ClientHelloFixtures.curlSni
        let followed = fixture + [0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0xFF]
        XCTAssertEqual(hello(followed)?.recordBytes, fixture.count)
    }

    // MARK: Not TLS

    func testNotTLS() {
        XCTAssertEqual(ClientHelloParser.parse(Array("GET / HTTP/1.1\r\n".utf8)), .notTLS)
        XCTAssertEqual(ClientHelloParser.parse([0x80, 0x2E, 0x01]), .notTLS, "SSLv2 hello")
        XCTAssertEqual(ClientHelloParser.parse([0x16, 0x02]), .notTLS, "record version 2.x")
        XCTAssertEqual(ClientHelloParser.parse([]), .needMore)
        XCTAssertEqual(ClientHelloParser.parse([0x16]), .needMore)
    }

    // MARK: Record layer errors

    func testRecordLayerErrors() {
        XCTAssertEqual(ClientHelloParser.parse([0x16, 0x03, 0x01, 0x00, 0x00]), .malformed(.badRecordLength(0)))
        XCTAssertEqual(ClientHelloParser.parse([0x16, 0x03, 0x01, 0x40, 0x01]), .malformed(.badRecordLength(16385)))
        XCTAssertEqual(
            ClientHelloParser.parse([0x16, 0x03, 0x01, 0x00, 0x04, 0x02]),
            .malformed(.notClientHello(handshakeType: 2)), "known before the record is complete")
        XCTAssertEqual(
            ClientHelloParser.parse([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00]),
            .malformed(.helloTooLarge(65536)), "known from the handshake header alone")
        // A header split as 1 + 3 bytes over two records, then an alert record.
        XCTAssertEqual(
            ClientHelloParser.parse([0x16, 0x03, 0x01, 0x00, 0x01, 0x01, 0x15, 0x03, 0x03, 0x00, 0x02]),
            .malformed(.interleavedRecord(contentType: 0x15)))
        XCTAssertEqual(
            ClientHelloParser.parse([0x16, 0x03, 0x01, 0x00, 0x01, 0x01, 0x16, 0x04]),
            .malformed(.badRecordVersion))
        // The record that ends the hello holds one more byte.
        var fixture = ClientHelloFixtures.curlSni
        let length = Int(fixture[3]) << 8 | Int(fixture[4]) + 1
        fixture[3] = UInt8(length >> 8)
        fixture[4] = UInt8(length & 0xFF)
        fixture.append(0x00)
        XCTAssertEqual(ClientHelloParser.parse(fixture), .malformed(.trailingHandshakeData))
    }

    // MARK: Body errors, built from a minimal hello

    func testMinimalHelloWithoutExtensions() {
        XCTAssertEqual(
            hello(Self.record(body: Self.bodyHead())),
            ClientHello(serverName: nil, alpnProtocols: [], legacyVersion: 0x0303, recordBytes: 5 + 4 + 41))
    }

    func testTruncatedBodies() {
        let body = Self.bodyHead() + Self.extensions([(0, Self.sniData("a.example"))])
        // Cutting the handshake message short while fixing up both lengths gives a typed error at every length.
        for cut in 0..<body.count {
            let result = ClientHelloParser.parse(Self.record(body: Array(body[..<cut])))
            if cut == 41 {
                // Exactly the fixed fields: a TLS 1.2 hello without extensions.
                XCTAssertEqual(
                    result,
                    .parsed(
                        ClientHello(
                            serverName: nil, alpnProtocols: [], legacyVersion: 0x0303,
                            recordBytes: 50)))
            } else if case .malformed(.badLength) = result {
                continue
            } else {
                XCTFail("cut \(cut): \(result)")
            }
        }
    }

    func testBadLengths() {
        var head = Self.bodyHead()
        head[34] = 33
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: head)), .malformed(.badLength(.sessionID)))
        head = Self.bodyHead()
        head[36] = 3  // odd cipher_suites length
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: head)), .malformed(.badLength(.cipherSuites)))
        var body = Self.bodyHead() + [0x00, 0x05, 0x00, 0x00, 0x00, 0x00]
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.badLength(.extensions)))
        body = Self.bodyHead() + [0x00, 0x04, 0x00, 0x00, 0x00, 0x09]
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.badLength(.extensionData)))
        body = Self.bodyHead() + Self.extensions([(0, [0x00, 0x07] + Array(Self.sniData("a.example").dropFirst(2)))])
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.badLength(.serverNameList)))
        body = Self.bodyHead() + Self.extensions([(0, [])])
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.badLength(.serverNameList)))
        body = Self.bodyHead() + Self.extensions([(16, [0x00, 0x04, 0x02, 0x68, 0x32])])
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.badLength(.alpnList)))
        body = Self.bodyHead() + Self.extensions([(16, [0x00, 0x00])])
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.badLength(.alpnList)))
        body = Self.bodyHead() + Self.extensions([(16, [0x00, 0x02, 0x00, 0x00])])
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.badLength(.protocolName)))
    }

    func testDuplicates() {
        var body = Self.bodyHead() + Self.extensions([(0, Self.sniData("a.example")), (0, Self.sniData("b.example"))])
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.duplicateExtension(0)))
        body =
            Self.bodyHead()
            + Self.extensions([(16, [0x00, 0x03, 0x02, 0x68, 0x32]), (16, [0x00, 0x03, 0x02, 0x68, 0x32])])
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.duplicateExtension(16)))
        let one = Array(Self.sniData("a.example").dropFirst(2))
        let two = Array(Self.sniData("b.example").dropFirst(2))
        let list = one + two
        body = Self.bodyHead() + Self.extensions([(0, [UInt8(list.count >> 8), UInt8(list.count & 0xFF)] + list)])
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.duplicateServerName))
        let other: [UInt8] = [0x00, 0x04, 0x01, 0x00, 0x01, 0x61]
        body = Self.bodyHead() + Self.extensions([(0, other)])
        XCTAssertEqual(ClientHelloParser.parse(Self.record(body: body)), .malformed(.unknownServerNameType(1)))
    }

    /// Random mutations of real hellos: always a result, never a trap (the fuzz target goes further).
    func testMutatedFixturesNeverTrap() {
        var generator = SplitMix64(seed: 16)
        for fixture in ClientHelloFixtures.all {
            for _ in 0..<2000 {
                var bytes = fixture
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
                        in: 0...255, using: &generator)
                }
                let result = ClientHelloParser.parse(bytes)
                if case .parsed(let hello) = result { XCTAssertLessThanOrEqual(hello.recordBytes, bytes.count) }
            }
        }
    }

    // MARK: Builders

    /// legacy_version, random, empty session id, one suite, null compression: 41 bytes.
    static func bodyHead() -> [UInt8] {
        [0x03, 0x03] + [UInt8](repeating: 0xAB, count: 32) + [0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00]
    }

    static func extensions(_ list: [(UInt16, [UInt8])]) -> [UInt8] {
        var data: [UInt8] = []
        for (type, body) in list {
            data += [UInt8(type >> 8), UInt8(type & 0xFF), UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        }
        return [UInt8(data.count >> 8), UInt8(data.count & 0xFF)] + data
    }

    static func sniData(_ name: String) -> [UInt8] {
        let host = Array(name.utf8)
        let entry: [UInt8] = [0x00, UInt8(host.count >> 8), UInt8(host.count & 0xFF)] + host
        return [UInt8(entry.count >> 8), UInt8(entry.count & 0xFF)] + entry
    }

    /// One handshake record holding a ClientHello with `body`.
    static func record(body: [UInt8]) -> [UInt8] {
        let message: [UInt8] = [0x01, 0x00, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        return [0x16, 0x03, 0x01, UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }

    /// `message` cut into handshake records of at most `size` bytes.
    static func fragment(_ message: [UInt8], size: Int) -> [UInt8] {
        var out: [UInt8] = []
        var start = 0
        while start < message.count {
            let end = min(start + size, message.count)
            out += [0x16, 0x03, 0x03, UInt8((end - start) >> 8), UInt8((end - start) & 0xFF)] + message[start..<end]
            start = end
        }
        return out
    }
}

/// A seeded generator so that failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
