import SluiceModel

@testable import DNS

/// Hand-built wire messages shared by the tests.
enum Fixtures {
    /// `dig +noedns example.com A` style query: ID 0x1234, RD.
    static let queryExampleA: [UInt8] = [
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x07, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0x03, 0x63, 0x6F, 0x6D, 0x00,
        0x00, 0x01, 0x00, 0x01,
    ]

    /// The EDNS OPT record dig adds: payload 1232, DO set, one COOKIE option (8 bytes).
    static let optRecord: [UInt8] = [
        0x00, 0x00, 0x29, 0x04, 0xD0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x0C,
        0x00, 0x0A, 0x00, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
    ]

    /// `dig example.com A` with EDNS: ID 0xBEEF, RD, AD, one OPT in the additional section.
    static var queryExampleAWithOPT: [UInt8] {
        var bytes = queryExampleA
        bytes[0] = 0xBE
        bytes[1] = 0xEF
        bytes[3] = 0x20
        bytes[11] = 0x01
        return bytes + optRecord
    }

    /// Response to `www.Example.com A`, compressed: CNAME to cdn.example.net (TTL 300), two A
    /// records for cdn.example.net (TTL 60 and 120). ID 0xABCD, QR RD RA.
    static let cnameChainResponse: [UInt8] = [
        0xAB, 0xCD, 0x81, 0x80, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
        // 12: question www.Example.com A IN
        0x03, 0x77, 0x77, 0x77, 0x07, 0x45, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0x03, 0x63, 0x6F, 0x6D, 0x00,
        0x00, 0x01, 0x00, 0x01,
        // 33: answer 1: owner -> 12, CNAME, IN, TTL 300, rdlength 17 (target written uncompressed)
        0xC0, 0x0C, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2C, 0x00, 0x11,
        // 45: rdata cdn.example.net: 3 cdn 7 example 3 net 0 (17 bytes)
        0x03, 0x63, 0x64, 0x6E, 0x07, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0x03, 0x6E, 0x65, 0x74, 0x00,
        // 62: answer 2: owner -> 45, A, IN, TTL 60, 4 bytes 93.184.216.34
        0xC0, 0x2D, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x04, 0x5D, 0xB8, 0xD8, 0x22,
        // answer 3: owner -> 45, A, IN, TTL 120, 4 bytes 93.184.216.35
        0xC0, 0x2D, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0x5D, 0xB8, 0xD8, 0x23,
    ]

    static func name(_ text: String) -> DomainName {
        do {
            return try DomainName(text)
        } catch {
            preconditionFailure("bad fixture name \(text): \(error)")
        }
    }

    /// A message holding one record of every decoded type plus an opaque one and an OPT.
    static var everyType: DNSMessage {
        let owner = name("host.example.com")
        let records: [RData] = [
            .a(IPv4Address(192, 0, 2, 1)),
            .aaaa(IPv6Address(high: 0x2001_0DB8_0000_0000, low: 0x0000_0000_0000_0001)),
            .cname(name("alias.example.com")),
            .ns(name("ns1.example.com")),
            .ptr(name("ptr.example.com")),
            .mx(preference: 10, exchange: name("mail.example.com")),
            .txt([Array("v=spf1 -all".utf8), [], Array("second".utf8)]),
            .srv(priority: 1, weight: 2, port: 5060, target: name("sip.example.com")),
            .soa(
                mname: name("ns1.example.com"), rname: name("hostmaster.example.com"), serial: 2024010101,
                refresh: 7200, retry: 3600, expire: 1_209_600, minimum: 300),
            .opaque(type: RRType(65), bytes: [0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x03, 0x02, 0x68, 0x32]),
        ]
        let answers = records.map { ResourceRecord(name: owner, ttl: 3600, rdata: $0) }
        return DNSMessage(
            header: DNSHeader(
                id: 0x4242, qr: true, opcode: 0, aa: true, rd: true, ra: true, ad: true, cd: true,
                rcode: .noError),
            questions: [Question(name: owner, type: .any)],
            answers: answers,
            authorities: [ResourceRecord(name: name("example.com"), ttl: 60, rdata: .ns(name("ns2.example.com")))],
            additionals: [
                ResourceRecord(name: name("ns2.example.com"), ttl: 60, rdata: .a(IPv4Address(192, 0, 2, 53)))
            ],
            opt: OPTRecord(udpPayloadSize: 4096, dnssecOK: true, options: [0x00, 0x0A, 0x00, 0x02, 0xAA, 0xBB]))
    }
}

/// Parses an array (tests only).
func parse(_ bytes: [UInt8]) throws(DNSParseError) -> DNSMessage {
    let result = bytes.withUnsafeBytes { raw in
        Result { () throws(DNSParseError) -> DNSMessage in try DNSParser.parse(raw) }
    }
    return try result.get()
}

/// Parses the query head of an array (tests only).
func parseHead(_ bytes: [UInt8]) throws(DNSParseError) -> QueryHead {
    let result = bytes.withUnsafeBytes { raw in
        Result { () throws(DNSParseError) -> QueryHead in try DNSParser.parseQueryHead(raw) }
    }
    return try result.get()
}

/// The typed error `body` throws, nil when it succeeds.
func parseError<T>(_ body: () throws(DNSParseError) -> T) -> DNSParseError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
