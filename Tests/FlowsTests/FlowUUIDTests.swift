import XCTest

@testable import Flows

final class FlowUUIDTests: XCTestCase {
    func testLayoutIsFNVOfTheSeedThenTheSequenceWithVersion8() {
        // FNV-1a 64 of "" is the offset basis cbf29ce484222325; version nibble 8, variant 10.
        XCTAssertEqual(FlowUUID.make(seed: "", seq: 0), "cbf29ce4-8422-8325-8000-000000000000")
        XCTAssertEqual(FlowUUID.make(seed: "", seq: 0x0102_0304_0506_0708), "cbf29ce4-8422-8325-8102-030405060708")
        // FNV-1a 64 of "a" is af63dc4c8601ec8c.
        XCTAssertEqual(FlowUUID.make(seed: "a", seq: 1), "af63dc4c-8601-8c8c-8000-000000000001")
    }

    func testSameInputSameUUIDOtherwiseDifferent() {
        let one = FlowUUID.make(seed: "boot-1:42:7", seq: 9)
        XCTAssertEqual(one, FlowUUID.make(seed: "boot-1:42:7", seq: 9))
        XCTAssertNotEqual(one, FlowUUID.make(seed: "boot-2:42:7", seq: 9))
        XCTAssertNotEqual(one, FlowUUID.make(seed: "boot-1:42:7", seq: 10))
        XCTAssertEqual(one.count, 36)
        XCTAssertEqual(Array(one)[14], "8")
        XCTAssertTrue("89ab".contains(Array(one)[19]))
    }

    func testUUIDIsStableAndVersion8() {
        let a = FlowUUID.make(seed: "boot-1/42", seq: 1000)
        XCTAssertEqual(a, FlowUUID.make(seed: "boot-1/42", seq: 1000), "same record, same uuid")
        XCTAssertNotEqual(a, FlowUUID.make(seed: "boot-1/42", seq: 1001))
        XCTAssertNotEqual(a, FlowUUID.make(seed: "boot-2/42", seq: 1000))
        let parts = a.split(separator: "-").map(\.count)
        XCTAssertEqual(parts, [8, 4, 4, 4, 12])
        let chars = Array(a)
        XCTAssertEqual(chars[14], "8", "version 8")
        XCTAssertTrue("89ab".contains(chars[19]), "RFC 9562 variant")
        XCTAssertTrue(a.hasSuffix("3e8"), "the sequence number is in the last bytes")
    }

    /// The text as the first implementation wrote it, digit by digit (the reference for the
    /// word-at-a-time writer).
    private static func reference(seedHash hash: UInt64, seq: UInt64) -> String {
        var out: [UInt8] = []
        for i in 0..<16 {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            let word = i < 8 ? hash : seq
            var b = UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64(i % 8)))
            if i == 6 { b = (b & 0x0F) | 0x80 }
            if i == 8 { b = (b & 0x3F) | 0x80 }
            out.append(Array("0123456789abcdef".utf8)[Int(b >> 4)])
            out.append(Array("0123456789abcdef".utf8)[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Every hex digit in every position (one nibble value repeated, each single nibble set), and
    /// seeded random hashes and sequence numbers: the same text as the reference; the prefix and
    /// the sequence part written apart join to the same text.
    func testWordAtATimeWriterMatchesTheDigitByDigitReference() {
        var values: [UInt64] = [0, .max, 0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210]
        for nibble in UInt64(0)..<16 { values.append(nibble &* 0x1111_1111_1111_1111) }
        for shift in stride(from: UInt64(0), to: 64, by: 4) {
            for nibble in UInt64(1)..<16 { values.append(nibble << shift) }
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<2000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(state ^ state >> 29)
        }
        for (i, hash) in values.enumerated() {
            let seq = values[(i * 7 + 3) % values.count]
            let expected = Self.reference(seedHash: hash, seq: seq)
            var out = [UInt8](repeating: 0, count: 36)
            out.withUnsafeMutableBufferPointer { FlowUUID.write(seedHash: hash, seq: seq, into: $0) }
            XCTAssertEqual(String(decoding: out, as: UTF8.self), expected, "hash \(hash) seq \(seq)")
            var parts = [UInt8](repeating: 0, count: 36)
            parts.withUnsafeMutableBytes { p in
                FlowUUID.writePrefix(seedHash: hash, into: p.baseAddress!)
                FlowUUID.writeSequence(seq, into: p.baseAddress! + FlowUUID.prefixLength)
            }
            XCTAssertEqual(parts, out)
        }
        XCTAssertEqual(FlowUUID.make(seed: "a", seq: 1), Self.reference(seedHash: FlowUUID.seedHash("a"), seq: 1))
    }
}
