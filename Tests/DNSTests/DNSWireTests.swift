import XCTest

@testable import DNS

final class DNSWireTests: XCTestCase {
    func testSetIDRewritesOnlyTheID() throws {
        var bytes = Fixtures.cnameChainResponse
        XCTAssertTrue(DNSWire.setID(0x0102, in: &bytes))
        XCTAssertEqual(Array(bytes[0..<2]), [0x01, 0x02])
        XCTAssertEqual(Array(bytes[2...]), Array(Fixtures.cnameChainResponse[2...]))
        XCTAssertEqual(bytes.withUnsafeBytes { DNSWire.id(of: $0) }, 0x0102)
        bytes.withUnsafeMutableBytes { XCTAssertTrue(DNSWire.setID(0xABCD, in: $0)) }
        XCTAssertEqual(bytes, Fixtures.cnameChainResponse)
    }

    func testShortBuffers() {
        var one: [UInt8] = [7]
        XCTAssertFalse(DNSWire.setID(1, in: &one))
        XCTAssertEqual(one, [7])
        XCTAssertNil(one.withUnsafeBytes { DNSWire.id(of: $0) })
        XCTAssertNil(one.withUnsafeBytes { DNSWire.isResponse($0) })
    }

    func testPeeks() {
        Fixtures.cnameChainResponse.withUnsafeBytes {
            XCTAssertEqual(DNSWire.isResponse($0), true)
            XCTAssertEqual(DNSWire.headerRcode($0), .noError)
        }
        Fixtures.queryExampleA.withUnsafeBytes { XCTAssertEqual(DNSWire.isResponse($0), false) }
    }
}
