import SluiceJSON

extension PolicyNode {
    /// The node as a JSON value in the node encoding: what `encode(to:)` gives SluiceJSON's
    /// encoder whole, instead of a Codable container per node.
    var jsonValue: JSONValue {
        let head: [JSONValue]
        switch content {
        case .scalar(let text, let plain):
            return .array([.string(plain ? "p" : "s"), .number(String(line)), .number(String(column)), .string(text)])
        case .mapping(let pairs):
            head = [.string("m"), .number(String(line)), .number(String(column))]
            var items = head
            items.reserveCapacity(3 + 2 * pairs.count)
            for pair in pairs {
                items.append(pair.key.jsonValue)
                items.append(pair.value.jsonValue)
            }
            return .array(items)
        case .sequence(let nodes):
            head = [.string("l"), .number(String(line)), .number(String(column))]
            var items = head
            items.reserveCapacity(3 + nodes.count)
            for node in nodes { items.append(node.jsonValue) }
            return .array(items)
        }
    }

    /// The node tree of an already parsed JSON value in the node encoding (`PolicyNode`,
    /// "Encoding"), converted directly: what `init(from:)` does when SluiceJSON decodes, without a
    /// Codable container per node (about 60,000 nodes for 10,000 HTTP rules). Refuses exactly the
    /// shapes the container path refuses, with a `DecodingError` (`PolicyNodeTests`).
    init(json: JSONValue, codingPath: [any CodingKey]) throws(DecodingError) {
        func corrupt(_ message: String) -> DecodingError {
            .dataCorrupted(.init(codingPath: codingPath, debugDescription: "policy node: " + message))
        }
        guard case .array(let items) = json else { throw corrupt("expected an array") }
        guard items.count >= 3, case .string(let tag) = items[0] else { throw corrupt("expected a tag") }
        guard case .number(let lineText) = items[1], case .number(let columnText) = items[2],
            let line = Int(lineText), let column = Int(columnText)
        else { throw corrupt("expected a line and a column (integers)") }
        guard line >= 0, column >= 0 else { throw corrupt("negative line or column") }
        switch tag {
        case "p", "s":
            guard items.count == 4, case .string(let text) = items[3] else {
                throw corrupt("a scalar has exactly one text")
            }
            content = .scalar(text, plain: tag == "p")
        case "m":
            guard items.count % 2 == 1 else { throw corrupt("a mapping key without a value") }
            var pairs: [Pair] = []
            pairs.reserveCapacity((items.count - 3) / 2)
            var i = 3
            while i < items.count {
                pairs.append(
                    Pair(
                        key: try PolicyNode(json: items[i], codingPath: codingPath),
                        value: try PolicyNode(json: items[i + 1], codingPath: codingPath)))
                i += 2
            }
            content = .mapping(pairs)
        case "l":
            var nodes: [PolicyNode] = []
            nodes.reserveCapacity(items.count - 3)
            for item in items[3...] { nodes.append(try PolicyNode(json: item, codingPath: codingPath)) }
            content = .sequence(nodes)
        default:
            throw corrupt("unknown tag \"\(tag)\" (expected p, s, m or l)")
        }
        self.line = line
        self.column = column
    }
}
