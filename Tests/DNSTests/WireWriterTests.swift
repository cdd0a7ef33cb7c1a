import XCTest

@testable import DNS

final class WireWriterTests: XCTestCase {
    func testIntegersAreWrittenBigEndian() {
        var writer = WireWriter(compress: false)
        writer.writeU8(0xAB)
        writer.writeU16(0x0102)
        writer.writeU32(0x0304_0506)
        writer.writeBytes([0xFF, 0xEE])
        XCTAssertEqual(writer.bytes, [0xAB, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xFF, 0xEE])
        XCTAssertEqual(writer.count, 9)
    }

    func testPatchOverwritesInPlaceAndIgnoresOutOfRange() {
        var writer = WireWriter(compress: false)
        writer.writeU32(0)
        writer.patchU16(0xBEEF, at: 1)
        XCTAssertEqual(writer.bytes, [0x00, 0xBE, 0xEF, 0x00])
        writer.patchU16(0x1111, at: 3)
        writer.patchU16(0x1111, at: -1)
        XCTAssertEqual(writer.bytes, [0x00, 0xBE, 0xEF, 0x00])
    }

    func testSecondNameSharingASuffixBecomesAPointer() throws {
        var writer = WireWriter(compress: true)
        writer.writeBytes(Array(repeating: 0, count: 12))
        writer.writeName(try DomainName("www.example.com"), compressible: true)
        writer.writeName(try DomainName("mail.example.com"), compressible: true)
        writer.writeName(try DomainName("www.example.com"), compressible: true)
        let expected: [UInt8] =
            Array(repeating: 0, count: 12)
            + [3, 0x77, 0x77, 0x77, 7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 3, 0x63, 0x6F, 0x6D, 0]
            + [4, 0x6D, 0x61, 0x69, 0x6C, 0xC0, 16]  // "example.com" began at offset 16
            + [0xC0, 12]
        XCTAssertEqual(writer.bytes, expected)
    }

    func testNoPointersWhenCompressionIsOffOrTheNameIsNotCompressible() throws {
        let name = try DomainName("a.example")
        for (compress, compressible) in [(false, true), (true, false)] {
            var writer = WireWriter(compress: compress)
            writer.writeName(name, compressible: compressible)
            writer.writeName(name, compressible: compressible)
            XCTAssertEqual(writer.bytes, name.wireBytes + name.wireBytes, "compress \(compress) \(compressible)")
        }
    }

    func testSuffixesKeepTheirCase() throws {
        var writer = WireWriter(compress: true)
        writer.writeName(try DomainName("Example.com"), compressible: true)
        let before = writer.count
        writer.writeName(try DomainName("example.com"), compressible: true)
        // "com" is shared; "example" differs in case so it is written again.
        XCTAssertEqual(Array(writer.bytes[before...]), [7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 0xC0, 8])
    }

    func testRollbackDropsBytesAndTheTableEntriesWrittenSinceTheMark() throws {
        var writer = WireWriter(compress: true)
        writer.writeName(try DomainName("keep.example"), compressible: true)
        let mark = writer.mark()
        writer.writeName(try DomainName("drop.test"), compressible: true)
        writer.rollback(to: mark)
        XCTAssertEqual(writer.bytes, try DomainName("keep.example").wireBytes)
        // A name only the rolled-back record had is written in full again, not as a dangling pointer.
        writer.writeName(try DomainName("drop.test"), compressible: true)
        XCTAssertEqual(Array(writer.bytes[14...]), try DomainName("drop.test").wireBytes)
        // A suffix written before the mark still compresses.
        writer.writeName(try DomainName("example"), compressible: true)
        XCTAssertEqual(Array(writer.bytes.suffix(2)), [0xC0, 5])
    }

    func testRootIsASingleZero() {
        var writer = WireWriter(compress: true)
        writer.writeName(.root, compressible: true)
        writer.writeName(.root, compressible: true)
        XCTAssertEqual(writer.bytes, [0, 0])
    }
}
