import SluiceJSON

/// A policy-tree-shaped document of about a megabyte through SluiceJSON: encode, decode (checked
/// equal to the input), parse only.
enum JSONBenchmark {
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
            let child = Rule(
                id: 2 * index + 1, name: "child-\(index)", selector: ["role": "leaf"], ports: [443],
                methods: ["GET"], path: nil, weight: 1, enabled: false, children: [])
            return Rule(
                id: 2 * index, name: "rule \"\(index)\" π", selector: ["app": "web-\(index % 17)", "tier": "front"],
                ports: [80, 8080, UInt16(index % 65536)], methods: ["GET", "POST"],
                path: "/api/v1/items/\(index)/\\d+", weight: Double(index) / 7, enabled: true, children: [child])
        }
    }

    static func run() throws {
        let rules = tree(rules: 10_000)
        var bytes: [UInt8] = []
        let encodeNs = try timed { bytes = try JSON.encode(rules) }
        check(bytes.count > 1_000_000, "encoded \(bytes.count) bytes")
        var decoded: [Rule] = []
        let decodeNs = try timed { decoded = try JSON.decode([Rule].self, from: bytes) }
        check(decoded == rules, "decoded tree differs from the encoded one")
        var parsed = JSONValue.null
        let parseNs = try timed { parsed = try JSONValue.parse(bytes) }
        guard case .array(let elements) = parsed else { return check(false, "not an array") }
        check(elements.count == 5_000, "\(elements.count) elements")
        func rate(_ ns: Double) -> String { "\(Int(ns / 1e6)) ms (\(Int(Double(bytes.count) / ns * 1e3)) MB/s)" }
        print(
            "json: \(bytes.count) bytes, 10,000 rules: encode \(rate(encodeNs)), decode \(rate(decodeNs)), "
                + "parse only \(rate(parseNs))")
    }
}
