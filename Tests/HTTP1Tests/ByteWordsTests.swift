import SluiceModel
import SluiceTestSupport
import XCTest

@testable import HTTP1

/// The word masks against the byte predicates they stand for: every byte value in every lane, the
/// other lanes random (a mask that let a borrow or carry cross lanes would fail here), and the
/// word-at-a-time comparison against `ASCII.equalsIgnoringCase`.
final class ByteWordsTests: XCTestCase {
    private typealias Class = (name: String, mask: (UInt64) -> UInt64, byte: (UInt8) -> Bool)

    private static let classes: [Class] = [
        ("below 0x20", { ByteWords.below($0, 0x20) }, { $0 < 0x20 }),
        ("below 0x80", { ByteWords.below($0, 0x80) }, { $0 < 0x80 }),
        ("below 0x00", { ByteWords.below($0, 0x00) }, { _ in false }),
        ("equal 0x7F", { ByteWords.equal($0, 0x7F) }, { $0 == 0x7F }),
        ("equal 0x00", { ByteWords.equal($0, 0x00) }, { $0 == 0x00 }),
        ("equal 0xFF", { ByteWords.equal($0, 0xFF) }, { $0 == 0xFF }),
        ("value stops", ByteWords.valueStops, { $0 < 0x20 || $0 == 0x7F }),
        ("target stops", ByteWords.targetStops, { !($0 > 0x20 && $0 < 0x7F) }),
        (
            "name stops", ByteWords.nameStops,
            { c in !((c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D) }
        ),
    ]

    func testEveryByteInEveryLane() {
        var random = SeededRandom(seed: 0xB17E_5A11)
        for (name, mask, byte) in Self.classes {
            for lane in 0..<8 {
                for value in 0...255 {
                    for _ in 0..<4 {
                        let shift = UInt64(lane * 8)
                        let word = (random.next() & ~(0xFF << shift)) | (UInt64(value) << shift)
                        let bit = mask(word) >> (shift + 7) & 1
                        XCTAssertEqual(
                            bit == 1, byte(UInt8(value)), "\(name): 0x\(String(value, radix: 16)) in lane \(lane)")
                    }
                }
            }
        }
    }

    func testRandomWordsMatchTheBytePredicatesInEveryLane() {
        var random = SeededRandom(seed: 0x3A5C_0DE5)
        for (name, mask, byte) in Self.classes {
            for _ in 0..<20_000 {
                let word = random.next()
                var expected: UInt64 = 0
                for lane in 0..<8 where byte(UInt8(truncatingIfNeeded: word >> UInt64(lane * 8))) {
                    expected |= 0x80 << UInt64(lane * 8)
                }
                XCTAssertEqual(mask(word), expected, "\(name): 0x\(String(word, radix: 16))")
                if expected != 0 {
                    XCTAssertEqual(ByteWords.firstLane(mask(word)), expected.trailingZeroBitCount / 8)
                }
            }
        }
    }

    func testSkipStopsAtTheFirstStopOrWhereAWordNoLongerFits() {
        let text = Array(ascii: "Content-Type: text/html\r\n")
        text.withUnsafeBytes { bytes in
            XCTAssertEqual(ByteWords.skip(bytes, from: 0, end: bytes.count, stops: ByteWords.nameStops), 12)
            // "text/htm" holds no stop; three bytes are left after it, for the byte loop.
            XCTAssertEqual(ByteWords.skip(bytes, from: 14, end: bytes.count, stops: ByteWords.valueStops), 22)
            XCTAssertEqual(ByteWords.skip(bytes, from: 16, end: bytes.count, stops: ByteWords.valueStops), 23)
            XCTAssertEqual(ByteWords.skip(bytes, from: 14, end: 21, stops: ByteWords.valueStops), 14)
            XCTAssertEqual(ByteWords.skip(bytes, from: 13, end: 21, stops: ByteWords.targetStops), 13)
            XCTAssertEqual(ByteWords.skip(bytes, from: 14, end: bytes.count, stops: ByteWords.targetStops), 22)
            XCTAssertEqual(ByteWords.skip(bytes, from: 16, end: bytes.count, stops: ByteWords.targetStops), 23)
        }
    }

    /// Token names and field values (the only bytes the facts compare) in every case mix, and with
    /// one byte changed to any other token or field-content byte.
    func testFoldedComparisonIsCaseInsensitiveEquality() {
        var random = SeededRandom(seed: 0xF01D_ED00)
        let literals: [StaticString] = [
            "host", "expect", "upgrade", "connection", "content-length", "http2-settings", "transfer-encoding",
            "close", "keep-alive", "chunked", "100-continue", "h2c",
        ]
        let allowed = (0...255).map(UInt8.init).filter { ASCII.isFieldContent($0) }
        for literal in literals {
            let text = Array(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
            for _ in 0..<3_000 {
                var candidate = text.map { Bool.random(using: &random) ? ASCII.lower($0) : upper($0) }
                if Bool.random(using: &random) {
                    candidate[Int.random(in: 0..<candidate.count, using: &random)] =
                        allowed.randomElement(using: &random) ?? 0
                }
                if Int.random(in: 0..<8, using: &random) == 0 {
                    candidate.append(allowed.randomElement(using: &random) ?? 0)
                }
                let padded = [0x3A] + candidate + [0x0D, 0x0A]
                padded.withUnsafeBytes { bytes in
                    let range = 1..<(1 + candidate.count)
                    XCTAssertEqual(
                        ByteWords.equalsFolded(bytes, range, literal), ASCII.equalsIgnoringCase(bytes, range, literal),
                        "\(literal): \(candidate)")
                }
            }
        }
    }

    private func upper(_ c: UInt8) -> UInt8 { c >= 0x61 && c <= 0x7A ? c - 0x20 : c }
}
