import SluiceModel
import XCTest

@testable import DNS

final class RDataTests: XCTestCase {
    private func read(_ type: RRType, _ rdata: [UInt8], prefix: [UInt8] = []) throws -> RData {
        let bytes = prefix + rdata + [0xEE]
        return try bytes.withUnsafeBytes { buffer in
            var reader = WireReader(buffer, offset: prefix.count)
            let data = try reader.readRData(type: type, length: rdata.count)
            XCTAssertEqual(reader.offset, prefix.count + rdata.count)
            return data
        }
    }

    private func assertBad(
        _ type: RRType, _ rdata: [UInt8], length: Int? = nil, _ expected: DNSParseError = .badRdata, line: UInt = #line
    ) {
        let result = rdata.withUnsafeBytes { buffer in
            var reader = WireReader(buffer)
            return Result { () throws(DNSParseError) in try reader.readRData(type: type, length: length ?? rdata.count)
            }
        }
        XCTAssertThrowsError(try result.get(), line: line) {
            XCTAssertEqual($0 as? DNSParseError, expected, line: line)
        }
    }

    private let exampleWire: [UInt8] = [7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0]

    func testAddresses() throws {
        XCTAssertEqual(try read(.a, [93, 184, 216, 34]), .a(IPv4Address(93, 184, 216, 34)))
        let v6: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
        XCTAssertEqual(try read(.aaaa, v6), .aaaa(IPv6Address("2001:db8::1")!))
        assertBad(.a, [1, 2, 3])
        assertBad(.a, [1, 2, 3, 4, 5])
        assertBad(.aaaa, Array(repeating: 0, count: 4))
        assertBad(.a, [1, 2, 3, 4], length: 5, .truncated)
    }

    func testNamesMXSRV() throws {
        let example = try DomainName("example")
        XCTAssertEqual(try read(.cname, exampleWire), .cname(example))
        XCTAssertEqual(try read(.ns, exampleWire), .ns(example))
        XCTAssertEqual(try read(.ptr, exampleWire), .ptr(example))
        XCTAssertEqual(try read(.mx, [0, 10] + exampleWire), .mx(preference: 10, exchange: example))
        XCTAssertEqual(
            try read(.srv, [0, 1, 0, 2, 0x01, 0xBB] + exampleWire),
            .srv(priority: 1, weight: 2, port: 443, target: example))
        assertBad(.mx, [0])
        assertBad(.cname, [])
        // The name runs past the rdata.
        assertBad(.cname, exampleWire, length: 4)
        // Bytes left after the name.
        assertBad(.ptr, exampleWire + [0])
    }

    func testCompressedNameInsideRdata() throws {
        // A 12-byte header, "example" at 12, then a CNAME rdata that is only a pointer to it.
        let header = Array(repeating: UInt8(0), count: 12)
        XCTAssertEqual(try read(.cname, [0xC0, 12], prefix: header + exampleWire), .cname(try DomainName("example")))
    }

    func testTXTStringsMustTileTheRdata() throws {
        XCTAssertEqual(try read(.txt, [2, 0x68, 0x69, 0, 1, 0x21]), .txt([[0x68, 0x69], [], [0x21]]))
        XCTAssertEqual(try read(.txt, []), .txt([]))
        assertBad(.txt, [3, 0x68, 0x69])
    }

    func testSOA() throws {
        let numbers: [UInt8] = [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]
        let soa = try read(.soa, exampleWire + [0] + numbers)
        XCTAssertEqual(
            soa,
            .soa(mname: try DomainName("example"), rname: .root, serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5)
        )
        assertBad(.soa, exampleWire + [0] + numbers.dropLast())
        assertBad(.soa, exampleWire + [0] + numbers + [0])
    }

    func testOtherTypesAreKeptRaw() throws {
        let type = RRType(65)  // HTTPS
        XCTAssertEqual(try read(type, [0, 1, 0]), .opaque(type: type, bytes: [0, 1, 0]))
        XCTAssertEqual(RData.opaque(type: type, bytes: []).type, type)
    }

    func testTypeOfEachCase() throws {
        let name = try DomainName("x")
        let cases: [(RData, RRType)] = [
            (.a(IPv4Address(1, 2, 3, 4)), .a), (.aaaa(IPv6Address(high: 0, low: 1)), .aaaa), (.cname(name), .cname),
            (.ns(name), .ns), (.ptr(name), .ptr), (.mx(preference: 0, exchange: name), .mx), (.txt([]), .txt),
            (.srv(priority: 0, weight: 0, port: 0, target: name), .srv),
            (.soa(mname: name, rname: name, serial: 0, refresh: 0, retry: 0, expire: 0, minimum: 0), .soa),
        ]
        for (data, type) in cases {
            XCTAssertEqual(data.type, type, "\(data)")
        }
    }
}
