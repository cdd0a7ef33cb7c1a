import SluiceJSON

/// One node of a YAML document as the policy parsers need it: a scalar's text, a mapping's
/// ordered pairs or a sequence's items, plus where the node starts in its file.
///
/// The CLI builds these from YAML text (`PolicyYAML`, which uses Yams) and sends them to the
/// agent, the way kubectl turns YAML into JSON before talking to the API server; the agent parses
/// policies from these trees without a YAML parser (Yams brings Foundation into its memory). The
/// marks survive the trip, so every `LoadError` still names the file's line and column.
///
/// A scalar keeps its text exactly as Yams' `Node.Scalar.string` gives it and whether it was
/// written plain (unquoted, not a block scalar): only a plain `~`, `null`, `Null`, `NULL` or
/// empty scalar is null (`YAMLValue.isNull`); a quoted `"null"` is the string `null`. Tags are
/// not kept: the parsers never read them. Aliases are resolved (Yams' node tree holds the
/// aliased node's copy).
///
/// ## Encoding
///
/// `Codable` as one flat array per node, first a tag, then the node's line and column (Yams'
/// 1-based `Mark` values, 0 when unknown), then its content:
///
/// - `["p", line, column, text]`: a plain scalar;
/// - `["s", line, column, text]`: any other scalar (single- or double-quoted, literal, folded);
/// - `["m", line, column, key1, value1, key2, value2, ...]`: a mapping, its pairs in order
///   (keys are nodes; duplicates are kept so the parsers can refuse them);
/// - `["l", line, column, item1, item2, ...]`: a sequence.
///
/// For example `spec: {endpointSelector: {}}` at the top of a file is
/// `["m",1,1,["p",1,1,"spec"],["m",1,7,["p",1,8,"endpointSelector"],["m",1,26]]]`.
/// Decoding refuses any other shape (unknown tag, missing or negative line/column, a scalar
/// without its text or with extra elements, a mapping with a key but no value) with a
/// `DecodingError`; it never traps.
public struct PolicyNode: Sendable, Equatable, Codable {
    /// One key/value pair of a mapping (other modules build mappings with `mapping(_:line:column:)`).
    public struct Pair: Sendable, Equatable {
        public var key: PolicyNode
        public var value: PolicyNode
    }

    /// What the node holds.
    public enum Content: Sendable, Equatable {
        /// A scalar's text as Yams gives it; `plain` when written without quotes (and not as a
        /// `|` or `>` block).
        case scalar(String, plain: Bool)
        /// A mapping's pairs in document order.
        case mapping([Pair])
        /// A sequence's items in document order.
        case sequence([PolicyNode])
    }

    public var content: Content
    /// 1-based line where the node starts (0 when unknown).
    public var line: Int
    /// 1-based column where the node starts (0 when unknown).
    public var column: Int

    public init(_ content: Content, line: Int = 0, column: Int = 0) {
        self.content = content
        self.line = line
        self.column = column
    }

    /// A scalar node; `plain` unless it was quoted or a block scalar.
    public static func scalar(_ text: String, plain: Bool = true, line: Int = 0, column: Int = 0) -> PolicyNode {
        PolicyNode(.scalar(text, plain: plain), line: line, column: column)
    }

    /// A mapping node with `pairs` in order.
    public static func mapping(_ pairs: [(key: PolicyNode, value: PolicyNode)], line: Int = 0, column: Int = 0)
        -> PolicyNode
    {
        PolicyNode(.mapping(pairs.map { Pair(key: $0.key, value: $0.value) }), line: line, column: column)
    }

    /// A sequence node with `items` in order.
    public static func sequence(_ items: [PolicyNode], line: Int = 0, column: Int = 0) -> PolicyNode {
        PolicyNode(.sequence(items), line: line, column: column)
    }

    // MARK: Codable (see "Encoding" above)

    public func encode(to encoder: any Encoder) throws {
        if let direct = encoder as? any JSONValueEncoder {
            direct.encode(jsonValue: jsonValue)
            return
        }
        var container = encoder.unkeyedContainer()
        switch content {
        case .scalar(let text, let plain):
            try container.encode(plain ? "p" : "s")
            try container.encode(line)
            try container.encode(column)
            try container.encode(text)
        case .mapping(let pairs):
            try container.encode("m")
            try container.encode(line)
            try container.encode(column)
            for pair in pairs {
                try container.encode(pair.key)
                try container.encode(pair.value)
            }
        case .sequence(let items):
            try container.encode("l")
            try container.encode(line)
            try container.encode(column)
            for item in items {
                try container.encode(item)
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        if let direct = decoder as? any JSONValueDecoder {
            self = try PolicyNode(json: direct.jsonValue, codingPath: decoder.codingPath)
            return
        }
        var container = try decoder.unkeyedContainer()
        func corrupt(_ message: String) -> DecodingError {
            .dataCorrupted(.init(codingPath: container.codingPath, debugDescription: "policy node: " + message))
        }
        let tag = try container.decode(String.self)
        let line = try container.decode(Int.self)
        let column = try container.decode(Int.self)
        guard line >= 0, column >= 0 else { throw corrupt("negative line or column") }
        switch tag {
        case "p", "s":
            let text = try container.decode(String.self)
            guard container.isAtEnd else { throw corrupt("a scalar has exactly one text") }
            content = .scalar(text, plain: tag == "p")
        case "m":
            var pairs: [Pair] = []
            while !container.isAtEnd {
                let key = try container.decode(PolicyNode.self)
                guard !container.isAtEnd else { throw corrupt("a mapping key without a value") }
                pairs.append(Pair(key: key, value: try container.decode(PolicyNode.self)))
            }
            content = .mapping(pairs)
        case "l":
            var items: [PolicyNode] = []
            while !container.isAtEnd {
                items.append(try container.decode(PolicyNode.self))
            }
            content = .sequence(items)
        default:
            throw corrupt("unknown tag \"\(tag)\" (expected p, s, m or l)")
        }
        self.line = line
        self.column = column
    }
}
