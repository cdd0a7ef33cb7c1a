import SluiceModel

/// `sluice policy get -o json|yaml`: a stored policy document back as JSON or YAML text, the way
/// kubectl prints objects (YAML 1.2 core schema for plain scalars: `true`, `80` and `null` are a
/// bool, a number and null; quoted scalars stay strings).
extension PolicyNode {
    /// The object key of a document: (kind, namespace, name), namespace `default` for a namespaced kind
    /// without one (as `PolicyFileParser` decides); nil when it is not a policy object.
    public var policyKey: PolicyKey? {
        guard case .mapping(let pairs) = content,
            let kindText = Self.scalar(pairs, "kind"), let kind = PolicyKind(rawValue: kindText),
            let metadata = pairs.first(where: { Self.text($0.key) == "metadata" })?.value,
            case .mapping(let meta) = metadata.content, let name = Self.scalar(meta, "name")
        else { return nil }
        let namespace =
            kind.isNamespaced ? (Self.scalar(meta, "namespace").flatMap { $0.isEmpty ? nil : $0 } ?? "default") : ""
        return PolicyKey(kind: kind, namespace: namespace, name: name)
    }

    /// Compact JSON text of the node (object members in document order).
    public var jsonText: String {
        switch content {
        case .scalar(let text, let plain):
            return plain ? Self.plainJSON(text) : Self.quoted(text)
        case .mapping(let pairs):
            return "{"
                + pairs.map { Self.quoted(Self.text($0.key) ?? "") + ":" + $0.value.jsonText }.joined(separator: ",")
                + "}"
        case .sequence(let items):
            return "[" + items.map(\.jsonText).joined(separator: ",") + "]"
        }
    }

    /// Block-style YAML lines of the node at `indent` spaces (kubectl's layout: sequences under a key
    /// are not indented further).
    public func yamlLines(indent: Int = 0) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch content {
        case .scalar:
            return [pad + yamlScalar]
        case .mapping(let pairs):
            if pairs.isEmpty { return [pad + "{}"] }
            var lines: [String] = []
            for pair in pairs {
                let key = Self.yamlString(Self.text(pair.key) ?? "")
                switch pair.value.content {
                case .scalar:
                    lines.append(pad + key + ": " + pair.value.yamlScalar)
                case .mapping(let inner) where inner.isEmpty:
                    lines.append(pad + key + ": {}")
                case .sequence(let inner) where inner.isEmpty:
                    lines.append(pad + key + ": []")
                case .mapping:
                    lines.append(pad + key + ":")
                    lines += pair.value.yamlLines(indent: indent + 2)
                case .sequence:
                    lines.append(pad + key + ":")
                    lines += pair.value.yamlLines(indent: indent)
                }
            }
            return lines
        case .sequence(let items):
            if items.isEmpty { return [pad + "[]"] }
            var lines: [String] = []
            for item in items {
                var inner = item.yamlLines(indent: indent + 2)
                inner[0] = pad + "- " + inner[0].dropFirst(indent + 2)
                lines += inner
            }
            return lines
        }
    }

    private var yamlScalar: String {
        guard case .scalar(let text, let plain) = content else { return "" }
        if plain {
            return text.isEmpty
                ? "null"
                : (Self.isSafePlain(text) || Self.plainJSON(text) != Self.quoted(text) ? text : Self.quoted(text))
        }
        return Self.yamlString(text)
    }

    /// A string as YAML: plain when that reads back as the same string, else double-quoted (JSON escapes).
    private static func yamlString(_ s: String) -> String {
        isSafePlain(s) && plainJSON(s) == quoted(s) ? s : quoted(s)
    }

    private static func isSafePlain(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, !s.hasSuffix(" "), !s.hasSuffix(":") else { return false }
        if "-?:,[]{}#&*!|>'\"%@` ".unicodeScalars.contains(first) { return false }
        if s.contains(": ") || s.contains(" #") { return false }
        return s.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
    }

    /// A plain scalar as JSON: null, bool, integer or float when YAML 1.2's core schema says so, else a string.
    private static func plainJSON(_ s: String) -> String {
        switch s {
        case "", "~", "null", "Null", "NULL": return "null"
        case "true", "True", "TRUE": return "true"
        case "false", "False", "FALSE": return "false"
        default: break
        }
        var body = Substring(s)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        if !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return s.hasPrefix("+") ? String(s.dropFirst()) : s
        }
        return quoted(s)
    }

    private static func text(_ node: PolicyNode) -> String? {
        if case .scalar(let t, _) = node.content { return t }
        return nil
    }

    private static func scalar(_ pairs: [Pair], _ key: String) -> String? {
        pairs.first(where: { text($0.key) == key }).flatMap { text($0.value) }
    }

    private static func quoted(_ s: String) -> String { ASCII.quoted(s, shortBF: false) }
}
