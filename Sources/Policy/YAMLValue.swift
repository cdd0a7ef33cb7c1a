/// A YAML node together with its YAML path and file, so every parse step can report
/// `file:line:column: path: message`. Parsers take and return these; nothing here allocates
/// beyond the `PolicyNode` tree already built.
struct YAMLValue {
    let node: PolicyNode
    /// YAML path, e.g. `spec.ingress[0].toPorts`.
    let path: String
    let file: String

    /// Makes a `LoadError` pointing at this node.
    func error(_ message: String) -> LoadError {
        LoadError(
            file: file, line: node.line, column: node.column, field: path,
            message: message)
    }

    /// True for `~`, `null` and empty values.
    var isNull: Bool {
        if case .scalar(let text, let plain) = node.content {
            return plain && ["", "~", "null", "Null", "NULL"].contains(text)
        }
        return false
    }

    /// The mapping, with keys checked against `allowed` like kubectl's strict decoding.
    /// A null value counts as an empty mapping.
    func mapping(allowing allowed: Set<String>, ignoringUnknown: Bool = false) throws(LoadError) -> YAMLMapping {
        if isNull { return YAMLMapping(owner: self, entries: [:]) }
        guard case .mapping(let mapping) = node.content else { throw error("expected a mapping") }
        var entries: [String: YAMLValue] = [:]
        for pair in mapping {
            let keyNode = pair.key, valueNode = pair.value
            guard case .scalar(let key, _) = keyNode.content else {
                throw YAMLValue(node: keyNode, path: path, file: file).error("mapping keys must be strings")
            }
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            if !allowed.contains(key) {
                if ignoringUnknown { continue }
                throw YAMLValue(node: keyNode, path: childPath, file: file).error("unknown field \"\(key)\"")
            }
            if entries[key] != nil {
                throw YAMLValue(node: keyNode, path: childPath, file: file).error("duplicate field \"\(key)\"")
            }
            entries[key] = YAMLValue(node: valueNode, path: childPath, file: file)
        }
        return YAMLMapping(owner: self, entries: entries)
    }

    /// The mapping as ordered string pairs (for `matchLabels`): keys and values must be scalars.
    func stringPairs() throws(LoadError) -> [(key: String, value: YAMLValue)] {
        if isNull { return [] }
        guard case .mapping(let mapping) = node.content else { throw error("expected a mapping") }
        var pairs: [(key: String, value: YAMLValue)] = []
        for pair in mapping {
            let keyNode = pair.key, valueNode = pair.value
            guard case .scalar(let key, _) = keyNode.content else {
                throw YAMLValue(node: keyNode, path: path, file: file).error("mapping keys must be strings")
            }
            pairs.append((key, YAMLValue(node: valueNode, path: "\(path).\(key)", file: file)))
        }
        return pairs
    }

    /// The items of a sequence; null counts as empty.
    func sequence() throws(LoadError) -> [YAMLValue] {
        if isNull { return [] }
        guard case .sequence(let sequence) = node.content else { throw error("expected a list") }
        return sequence.enumerated().map { index, item in
            YAMLValue(node: item, path: "\(path)[\(index)]", file: file)
        }
    }

    /// A scalar's text (numbers and booleans as written).
    func string() throws(LoadError) -> String {
        guard case .scalar(let text, _) = node.content else { throw error("expected a string") }
        return isNull ? "" : text
    }

    /// A list of scalars.
    func strings() throws(LoadError) -> [String] {
        var result: [String] = []
        for item in try sequence() {
            result.append(try item.string())
        }
        return result
    }

    /// A YAML boolean.
    func bool() throws(LoadError) -> Bool {
        switch try string().lowercased() {
        case "true": return true
        case "false": return false
        default: throw error("expected true or false")
        }
    }
}

/// A checked mapping: only allowed keys, null values treated as absent.
struct YAMLMapping {
    let owner: YAMLValue
    let entries: [String: YAMLValue]

    /// The value for `key`, or nil when absent or null.
    subscript(key: String) -> YAMLValue? {
        guard let value = entries[key], !value.isNull else { return nil }
        return value
    }

    /// Whether `key` is present (even when null).
    func has(_ key: String) -> Bool { entries[key] != nil }

    /// The value for `key`, or an error at the mapping saying it is missing.
    func required(_ key: String) throws(LoadError) -> YAMLValue {
        guard let value = self[key] else {
            throw owner.error("missing required field \"\(key)\"")
        }
        return value
    }
}
