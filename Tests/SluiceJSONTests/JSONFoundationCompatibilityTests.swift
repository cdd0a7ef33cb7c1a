// Foundation only to check that we read what its JSONEncoder writes and it reads what we write;
// the SluiceJSON module itself never imports it.
import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

final class JSONFoundationCompatibilityTests: XCTestCase {
    func testWeDecodeWhatFoundationEncodes() throws {
        let encoder = JSONEncoder()
        for formatting: JSONEncoder.OutputFormatting in [
            [], [.sortedKeys], [.prettyPrinted], [.withoutEscapingSlashes],
        ] {
            encoder.outputFormatting = formatting
            let data = try encoder.encode(Policy.sample)
            XCTAssertEqual(try JSON.decode(Policy.self, from: [UInt8](data)), Policy.sample, "\(formatting)")
        }
    }

    func testFoundationDecodesWhatWeEncode() throws {
        for pretty in [false, true] {
            let bytes = try JSON.encode(Policy.sample, sortedKeys: true, pretty: pretty)
            XCTAssertEqual(try JSONDecoder().decode(Policy.self, from: Data(bytes)), Policy.sample)
        }
    }

    /// With sorted keys, no `/` in strings and no pretty printing, the bytes are Foundation's.
    func testSameBytesAsFoundation() throws {
        var sample = Policy.sample
        sample.name = "web \"frontend\"\n\tπ 😀 \\"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        XCTAssertEqual(
            try JSON.encodeString(sample, sortedKeys: true),
            String(decoding: try encoder.encode(sample), as: UTF8.self))
        let keys = ["b": 1, "a": 2, "B": 3, "é": 4, "Z": 5, "a10": 6, "a9": 7, "_": 8]
        XCTAssertEqual(
            try JSON.encodeString(keys, sortedKeys: true),
            String(decoding: try encoder.encode(keys), as: UTF8.self))
    }

    /// Doubles and floats print exactly as Foundation's JSONEncoder prints them.
    func testNumbersPrintLikeFoundation() throws {
        var doubles: [Double] = [
            0, -0.0, 1, -1, 0.1, 0.5, 1.5, 100, 1e15, 1e16, 1e20, 1e21, 1e22, 1e-5, 1e-7,
            123456789012345683968, .pi, 1e300, -1e-300, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
            9007199254740992, 9007199254740994, 4.35, 2.675,
        ]
        var generator = SeededRandom(seed: 0x5EED_D0B1)
        for _ in 0..<2000 {
            let double = Double(bitPattern: generator.next())
            if double.isFinite { doubles.append(double) }
        }
        let floats: [Float] = [0, 1, 0.1, 1.1, 3.4028235e38, .leastNonzeroMagnitude, 16777216, 16777218, 1e10, .pi]
        for (ours, foundation) in [
            (try JSON.encode(doubles), try JSONEncoder().encode(doubles)),
            (try JSON.encode(floats), try JSONEncoder().encode(floats)),
        ] {
            XCTAssertEqual(String(decoding: ours, as: UTF8.self), String(decoding: foundation, as: UTF8.self))
        }
        XCTAssertEqual(try JSON.decode([Double].self, from: try JSON.encode(doubles)), doubles)
    }

    /// Strings Foundation escapes (`/`, `\u{7F}`, every control character) read back the same.
    func testStringsFromFoundation() throws {
        let all = String(decoding: (0..<128).map { UInt8($0) }, as: UTF8.self) + "é€😀\u{2028}\u{FEFF}"
        XCTAssertEqual(try JSON.decode(String.self, from: [UInt8](try JSONEncoder().encode(all))), all)
        XCTAssertEqual(try JSONDecoder().decode(String.self, from: Data(try JSON.encode(all))), all)
    }
}
