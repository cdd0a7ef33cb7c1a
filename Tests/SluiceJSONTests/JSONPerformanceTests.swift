import XCTest
import SluiceJSON

/// A policy-tree-shaped document of about a megabyte, timed loosely: it only has to finish.
final class JSONPerformanceTests: XCTestCase {
    struct Rule: Codable, Equatable {
        var id: Int
        var name: String
        var selector: [String: String]
        var ports: [UInt16]
        var methods: [String]
        var path: String?
        var weight: Double
        var enabled: Bool
        var children: [Rule]
    }

    static func tree(rules: Int) -> [Rule] {
        (0..<rules / 2).map { index in
            let child = Rule(id: 2 * index + 1, name: "child-\(index)", selector: ["role": "leaf"], ports: [443],
                             methods: ["GET"], path: nil, weight: 1, enabled: false, children: [])
            return Rule(id: 2 * index, name: "rule \"\(index)\" π", selector: ["app": "web-\(index % 17)", "tier": "front"],
                        ports: [80, 8080, UInt16(index % 65536)], methods: ["GET", "POST"],
                        path: "/api/v1/items/\(index)/\\d+", weight: Double(index) / 7, enabled: true, children: [child])
        }
    }

    func testDecodeAMegabyte() throws {
        let rules = Self.tree(rules: 10_000)
        let clock = ContinuousClock()
        var bytes: [UInt8] = []
        let encodeTime = try clock.measure { bytes = try JSON.encode(rules) }
        XCTAssertGreaterThan(bytes.count, 1_000_000)

        var decoded: [Rule] = []
        let decodeTime = try clock.measure { decoded = try JSON.decode([Rule].self, from: bytes) }
        XCTAssertEqual(decoded, rules)

        var parsed = JSONValue.null
        let parseTime = try clock.measure { parsed = try JSONValue.parse(bytes) }
        guard case .array(let elements) = parsed else { return XCTFail("not an array") }
        XCTAssertEqual(elements.count, 5_000)
        print("SluiceJSON: \(bytes.count) bytes, 10,000 rules: encode \(encodeTime), decode \(decodeTime), parse only \(parseTime)")
    }
}
