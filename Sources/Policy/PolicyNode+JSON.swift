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

extension PolicyNode {
    /// Appends the node in the node encoding as compact JSON: the same bytes `JSON.encode` writes
    /// for it, written straight from the tree. `JSON.encode` first builds the whole `JSONValue`
    /// tree (an array per node: about 8 MB held at once for 10,000 HTTP rules' documents, the
    /// agent's peak while it stores an applied file); this holds nothing but the output.
    public func appendJSON(to output: inout [UInt8]) {
        output.append(UInt8(ascii: "["))
        let tag: UInt8
        switch content {
        case .scalar(_, let plain): tag = plain ? UInt8(ascii: "p") : UInt8(ascii: "s")
        case .mapping: tag = UInt8(ascii: "m")
        case .sequence: tag = UInt8(ascii: "l")
        }
        output.append(contentsOf: [UInt8(ascii: "\""), tag, UInt8(ascii: "\""), UInt8(ascii: ",")])
        output.append(contentsOf: String(line).utf8)
        output.append(UInt8(ascii: ","))
        output.append(contentsOf: String(column).utf8)
        switch content {
        case .scalar(let text, _):
            output.append(UInt8(ascii: ","))
            JSON.appendEscapedString(text, to: &output)
        case .mapping(let pairs):
            for pair in pairs {
                output.append(UInt8(ascii: ","))
                pair.key.appendJSON(to: &output)
                output.append(UInt8(ascii: ","))
                pair.value.appendJSON(to: &output)
            }
        case .sequence(let nodes):
            for node in nodes {
                output.append(UInt8(ascii: ","))
                node.appendJSON(to: &output)
            }
        }
        output.append(UInt8(ascii: "]"))
    }
}

extension PolicyNode {
    /// Reads a JSON array of nodes in the node encoding straight from `bytes` at `index` (after
    /// whitespace), building the trees without a `JSONValue` tree of the whole file in between
    /// (for 10,000 HTTP rules that tree is about 16 MB, three times the node trees, and it was the
    /// agent's peak during an apply). On success `index` is just past the closing `]`.
    ///
    /// Only the plain form is read: anything else — a `\u` escape, a number that is not a
    /// non-negative integer, invalid UTF-8, a wrong shape, nesting deeper than 400 nodes — gives
    /// nil, and the caller decodes with
    /// SluiceJSON, which either gives the same trees or refuses the input with its error. Whatever
    /// this accepts, SluiceJSON accepts with the same trees (`PolicyNodeJSONTests`).
    public static func nodes(json bytes: UnsafeRawBufferPointer, at index: inout Int) -> [PolicyNode]? {
        var reader = NodeJSONReader(bytes: bytes, index: index)
        guard let nodes = reader.array() else { return nil }
        index = reader.index
        return nodes
    }
}

/// The reader behind `PolicyNode.nodes(json:at:)`: nil for anything outside the plain form.
private struct NodeJSONReader {
    static let maxDepth = 400

    let bytes: UnsafeRawBufferPointer
    var index: Int
    var depth = 0

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// `byte` after optional whitespace.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// `[` node, node, ... `]`.
    mutating func array() -> [PolicyNode]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var nodes: [PolicyNode] = []
        if take(UInt8(ascii: "]")) { return nodes }
        repeat {
            guard let node = node() else { return nil }
            nodes.append(node)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? nodes : nil
    }

    mutating func node() -> PolicyNode? {
        guard depth < Self.maxDepth, take(UInt8(ascii: "[")), take(UInt8(ascii: "\"")),
            index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"")
        else { return nil }
        let tag = bytes[index]
        index += 2
        guard take(UInt8(ascii: ",")), let line = integer(), take(UInt8(ascii: ",")), let column = integer() else {
            return nil
        }
        depth += 1
        defer { depth -= 1 }
        let content: PolicyNode.Content
        switch tag {
        case UInt8(ascii: "p"), UInt8(ascii: "s"):
            guard take(UInt8(ascii: ",")), take(UInt8(ascii: "\"")), let text = string() else { return nil }
            content = .scalar(text, plain: tag == UInt8(ascii: "p"))
        case UInt8(ascii: "m"):
            var pairs: [PolicyNode.Pair] = []
            while take(UInt8(ascii: ",")) {
                guard let key = node(), take(UInt8(ascii: ",")), let value = node() else { return nil }
                pairs.append(PolicyNode.Pair(key: key, value: value))
            }
            content = .mapping(pairs)
        case UInt8(ascii: "l"):
            var items: [PolicyNode] = []
            while take(UInt8(ascii: ",")) {
                guard let item = node() else { return nil }
                items.append(item)
            }
            content = .sequence(items)
        default:
            return nil
        }
        guard take(UInt8(ascii: "]")) else { return nil }
        return PolicyNode(content, line: line, column: column)
    }

    /// A non-negative JSON integer (no leading zero, fraction or exponent) of at most 18 digits.
    mutating func integer() -> Int? {
        skipWhitespace()
        let start = index
        var value = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        let digits = index - start
        guard digits > 0, digits <= 18, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        return value
    }

    /// The rest of a string after its opening quote: escapes other than `\u` unescaped, no raw
    /// control character, valid UTF-8.
    mutating func string() -> String? {
        let start = index
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return ascii ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") { return escapedString(from: start) }
            if byte < 0x20 { return nil }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        return nil
    }

    /// A string with escapes, from its first byte.
    mutating func escapedString(from start: Int) -> String? {
        var text: [UInt8] = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { return String(validating: text, as: UTF8.self) }
            if byte < 0x20 { return nil }
            guard byte == UInt8(ascii: "\\") else {
                text.append(byte)
                continue
            }
            guard index < bytes.count else { return nil }
            guard let unescaped = JSON.unescaped(bytes[index]) else { return nil }
            index += 1
            text.append(unescaped)
        }
        return nil
    }
}
