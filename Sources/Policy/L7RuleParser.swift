/// Parses `toPorts[].rules` (HTTP and DNS) and `toFQDNs` selectors, compiling every regex once.
enum L7RuleParser {
    private static let unsupportedTypes = ["kafka", "l7proto", "l7"]

    /// Parses a `rules` block: exactly one L7 type (Cilium L7Rules.sanitize).
    static func parse(_ value: YAMLValue, direction: Direction) throws(LoadError) -> L7Rules {
        let mapping = try value.mapping(allowing: Set(["http", "dns"] + unsupportedTypes))
        let present = ["http", "dns"].filter { mapping.has($0) } + unsupportedTypes.filter { mapping.has($0) }
        if present.count > 1 {
            throw value.error("multiple L7 protocol rule types specified in single rule")
        }
        if let field = mapping.entries["l7"], !mapping.has("l7proto") {
            // Cilium L7Rules.sanitize.
            throw field.error("'l7' may only be specified when a 'l7proto' is also specified")
        }
        for key in unsupportedTypes {
            if let field = mapping.entries[key] { throw field.error("\"\(key)\" rules are not supported by Sluice") }
        }
        if let httpValue = mapping.entries["http"] {
            let items = try httpValue.sequence()
            // exactly as many as there are (appending grows to the next power of two: 10 rules
            // held 16 slots, 1,000 objects of 10 rules 190 KB more in the documents in force)
            var rules: [HTTPRule] = []
            rules.reserveCapacity(items.count)
            for item in items {
                rules.append(try parseHTTPRule(item))
            }
            return rules.isEmpty ? .none : .http(rules)
        }
        if let dnsValue = mapping.entries["dns"] {
            let items = try dnsValue.sequence()
            if direction == .ingress && !items.isEmpty {
                throw dnsValue.error("L7 protocol DNS is not supported on ingress yet")
            }
            var selectors: [FQDNSelector] = []
            for item in items {
                selectors.append(try parseFQDNSelector(item))
            }
            return selectors.isEmpty ? .none : .dns(selectors)
        }
        return .none
    }

    /// Parses one `rules.http[]` entry.
    static func parseHTTPRule(_ value: YAMLValue) throws(LoadError) -> HTTPRule {
        let mapping = try value.mapping(allowing: ["method", "path", "host", "headers", "headerMatches"])
        var parts: [String] = []
        func regex(_ key: String) throws(LoadError) -> Regex? {
            guard let field = mapping[key] else { return nil }
            let pattern = try field.string()
            if pattern.isEmpty { return nil }
            let compiled: Result<Regex, Regex.CompileError> = Result { () throws(Regex.CompileError) in
                try Regex.compile(pattern)
            }
            switch compiled {
            case .success(let regex):
                return regex
            case .failure(.syntax(let message)):
                throw field.error("invalid regex \"\(pattern)\": \(message)")
            case .failure(.programTooLarge(let size)):
                throw field.error(
                    "regex \"\(pattern)\": RE2 program size of \(size) > max program size of "
                        + "\(Regex.maxProgramSize) (Envoy would reject every policy of the endpoint)")
            }
        }
        let method = try regex("method")
        let path = try regex("path")
        let host = try regex("host")
        var headers: [HTTPRule.HeaderRequirement] = []
        let headerTexts = try mapping["headers"]?.strings() ?? []
        for text in headerTexts {
            headers.append(headerRequirement(text))
        }
        if !headerTexts.isEmpty { parts.append("headers: [\(headerTexts.joined(separator: ", "))]") }
        var actions: [HTTPHeaderAction] = []
        var neverMatches = false
        for item in try mapping["headerMatches"]?.sequence() ?? [] {
            let entry = try parseHeaderMatch(item)
            parts.append("headerMatch: \(entry.canonical)")
            if let action = entry.action {
                actions.append(HTTPHeaderAction(name: entry.name, value: entry.value, action: action))
            } else if entry.secret && entry.value == nil {
                neverMatches = true
            } else {
                headers.append(
                    .init(name: Array(entry.name.lowercased().utf8), value: entry.value.map { Array($0.utf8) }))
            }
        }
        return HTTPRule(
            method: method, path: path, host: host, headers: headers, headerActions: actions,
            neverMatches: neverMatches, headerCanonical: parts.isEmpty ? nil : parts.joined(separator: ", "))
    }

    /// `Name` (presence) or `Name value` / `Name: value` (exact), split at the first space like
    /// Cilium's getHTTPRule, with trailing colons removed from the name.
    private static func headerRequirement(_ text: String) -> HTTPRule.HeaderRequirement {
        guard let space = text.firstIndex(of: " ") else {
            return .init(name: Array(text.lowercased().utf8), value: nil)
        }
        var name = Substring(text[..<space])
        while name.hasSuffix(":") { name = name.dropLast() }
        let value = text[text.index(after: space)...]
        return .init(name: Array(name.lowercased().utf8), value: Array(value.utf8))
    }

    private struct HeaderMatchEntry {
        var name: String
        var value: String?
        var secret: Bool
        var action: HTTPHeaderAction.Action?
        var canonical: String {
            var text = name
            if let value { text += "=\(value)" }
            if secret { text += " secret" }
            if let action { text += " mismatch=\(action.rawValue)" }
            return text
        }
    }

    private static func parseHeaderMatch(_ value: YAMLValue) throws(LoadError) -> HeaderMatchEntry {
        let mapping = try value.mapping(allowing: ["name", "value", "secret", "mismatch"])
        let name = try mapping["name"]?.string() ?? ""
        if name.isEmpty { throw value.error("Header name missing") }
        if let secret = mapping["secret"] {
            _ = try secret.mapping(allowing: ["namespace", "name"])
        }
        var action: HTTPHeaderAction.Action?
        if let mismatch = mapping["mismatch"] {
            guard let parsed = HTTPHeaderAction.Action(rawValue: try mismatch.string()) else {
                throw mismatch.error("mismatch must be one of LOG, ADD, DELETE, REPLACE")
            }
            action = parsed
        }
        return HeaderMatchEntry(
            name: name, value: try mapping["value"]?.string(), secret: mapping["secret"] != nil,
            action: action)
    }

    /// Parses a `matchName`/`matchPattern` selector (Cilium FQDNSelector.sanitize).
    static func parseFQDNSelector(_ value: YAMLValue) throws(LoadError) -> FQDNSelector {
        let mapping = try value.mapping(allowing: ["matchName", "matchPattern"])
        let name = try mapping["matchName"]?.string() ?? ""
        let pattern = try mapping["matchPattern"]?.string() ?? ""
        if !name.isEmpty && !pattern.isEmpty {
            throw value.error("only one of MatchName or MatchPattern is allowed in an FQDNSelector")
        }
        if !name.isEmpty {
            let field = mapping["matchName"] ?? value
            if !name.utf8.allSatisfy({ isDNSCharacter($0) || $0 == UInt8(ascii: ".") }) {
                throw field.error(
                    "Invalid characters in MatchName: \"\(name)\". Only 0-9, a-z, A-Z and . and - characters are allowed"
                )
            }
            return FQDNSelector(pattern: FQDNPattern(matchName: name))
        }
        guard !pattern.isEmpty, let field = mapping["matchPattern"] else {
            throw value.error("one of matchName or matchPattern is required")
        }
        if !pattern.utf8.allSatisfy({ isDNSCharacter($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "*") }) {
            throw field.error(
                "Invalid characters in MatchPattern: \"\(pattern)\". Only 0-9, a-z, A-Z and ., - and * characters are allowed"
            )
        }
        if pattern.utf8.count > FQDNPattern.maxLength {
            throw field.error("matchPattern is longer than \(FQDNPattern.maxLength) characters")
        }
        guard let compiled = FQDNPattern(matchPattern: pattern) else {
            throw field.error("invalid matchPattern \"\(pattern)\"")
        }
        return FQDNSelector(pattern: compiled)
    }

    /// `[-a-zA-Z0-9_]`.
    private static func isDNSCharacter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "_")
    }
}
