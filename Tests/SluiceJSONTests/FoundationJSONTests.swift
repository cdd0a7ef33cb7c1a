// FoundationJSON is the measurement variant (`make bench-json`, -DSLUICE_FOUNDATION_JSON): the
// `JSON` API on FoundationEssentials' JSONEncoder (`.withoutEscapingSlashes`, plus `.sortedKeys`
// and `.prettyPrinted` as asked) and JSONDecoder. These tests hold that formatting to SluiceJSON's
// output in the default build, so both builds read and write the same agent files.
import Foundation
import SluiceJSON
import XCTest

final class FoundationJSONTests: XCTestCase {
    /// The variant's encoder, formatted as FoundationJSON.encode formats it.
    private func variantEncoder(sortedKeys: Bool, pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        var formatting: JSONEncoder.OutputFormatting = [.withoutEscapingSlashes]
        if sortedKeys { formatting.insert(.sortedKeys) }
        if pretty { formatting.insert(.prettyPrinted) }
        encoder.outputFormatting = formatting
        return encoder
    }

    /// Compact with sorted keys, slashes (paths in the agent's files) included: the same bytes.
    func testCompactSortedOutputIsSluiceJSONsBytes() throws {
        let encoder = variantEncoder(sortedKeys: true, pretty: false)
        XCTAssertTrue(Policy.sample.name.contains("/"))
        XCTAssertEqual(
            try JSON.encodeString(Policy.sample, sortedKeys: true),
            String(decoding: try encoder.encode(Policy.sample), as: UTF8.self))
        let paths = ["socket": "/run/sluice/agent.sock", "pins": "/sys/fs/bpf/sluice", "url": "http://a/b?c=/d"]
        XCTAssertEqual(
            try JSON.encodeString(paths, sortedKeys: true), String(decoding: try encoder.encode(paths), as: UTF8.self))
        XCTAssertEqual(try JSON.encodeString(paths, sortedKeys: true).contains("\\/"), false)
    }

    /// Every formatting the variant writes, SluiceJSON reads back, and the other way round.
    func testEachStackReadsTheOthersOutput() throws {
        for (sortedKeys, pretty) in [(false, false), (true, false), (false, true), (true, true)] {
            let theirs = try variantEncoder(sortedKeys: sortedKeys, pretty: pretty).encode(Policy.sample)
            XCTAssertEqual(
                try JSON.decode(Policy.self, from: [UInt8](theirs)), Policy.sample, "\(sortedKeys) \(pretty)")
            let ours = try JSON.encode(Policy.sample, sortedKeys: sortedKeys, pretty: pretty)
            XCTAssertEqual(
                try JSONDecoder().decode(Policy.self, from: Data(ours)), Policy.sample, "\(sortedKeys) \(pretty)")
        }
    }

    /// A document one stack refuses, the other refuses too (the variant maps the error to JSONError).
    func testBothRefuseTheSameMalformedDocuments() {
        for text in ["", "{", "[1,2", "\"unterminated", "tru", "{\"a\":1}", "{\"a\":\"b\"} x", "{'a':'b'}"] {
            XCTAssertThrowsError(try JSON.decode([String: String].self, from: Array(text.utf8)), text)
            XCTAssertThrowsError(try JSONDecoder().decode([String: String].self, from: Data(text.utf8)), text)
        }
        XCTAssertEqual(try JSON.decode([String: String].self, from: Array("{\"a\":\"b\"}".utf8)), ["a": "b"])
        XCTAssertEqual(try JSONDecoder().decode([String: String].self, from: Data("{\"a\":\"b\"}".utf8)), ["a": "b"])
    }
}
