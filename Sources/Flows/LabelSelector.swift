/// A `--label` value: a Kubernetes-style label selector (comma-separated requirements, all must hold) matched
/// against Cilium labels (`source:key=value`), as cilium `filters/labels.go` does.
///
/// Requirements: `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`.
/// A key may carry a source (`k8s:app`); without one it matches the key from any source, so `app=x` matches
/// `k8s:app=x`.
struct LabelSelector {
    private enum Operator {
        case exists, doesNotExist, equals, notEquals, `in`, notIn
    }

    private struct Requirement {
        var source: String?
        var key: String
        var op: Operator
        var values: [String]
    }

    private let requirements: [Requirement]

    /// Parses a selector; nil when it is empty or malformed.
    init?(_ text: String) {
        var requirements: [Requirement] = []
        for part in Self.splitTopLevel(text) {
            guard let requirement = Self.requirement(part.trimmingSpaces) else { return nil }
            requirements.append(requirement)
        }
        guard !requirements.isEmpty else { return nil }
        self.requirements = requirements
    }

    /// Whether a label set (`k8s:app=x`, `reserved:world`) satisfies every requirement.
    func matches(_ labels: [String]) -> Bool {
        let parsed = labels.map(Self.parseLabel)
        return requirements.allSatisfy { r in
            let found = parsed.filter { $0.key == r.key && (r.source == nil || r.source == $0.source) }.map(\.value)
            switch r.op {
            case .exists: return !found.isEmpty
            case .doesNotExist: return found.isEmpty
            case .equals, .in: return found.contains { r.values.contains($0) }
            case .notEquals, .notIn: return !found.contains { r.values.contains($0) }
            }
        }
    }

    /// Cilium `labels.ParseLabel`: the source is the text before the first `:` when that comes before any `=`.
    static func parseLabel(_ label: String) -> (source: String, key: String, value: String) {
        var rest = Substring(label)
        var source = "unspec"
        if let colon = rest.firstIndex(of: ":"), rest.firstIndex(of: "=").map({ colon < $0 }) ?? true {
            source = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        guard let eq = rest.firstIndex(of: "=") else { return (source, String(rest), "") }
        return (source, String(rest[..<eq]), String(rest[rest.index(after: eq)...]))
    }

    /// Splits on commas outside parentheses.
    private static func splitTopLevel(_ text: String) -> [Substring] {
        var parts: [Substring] = []
        var depth = 0
        var start = text.startIndex
        for i in text.indices {
            switch text[i] {
            case "(": depth += 1
            case ")": depth -= 1
            case "," where depth == 0:
                parts.append(text[start..<i])
                start = text.index(after: i)
            default: break
            }
        }
        parts.append(text[start...])
        return parts
    }

    private static func requirement(_ s: Substring) -> Requirement? {
        guard !s.isEmpty else { return nil }
        if s.hasPrefix("!") { return keyed(s.dropFirst(), .doesNotExist, []) }
        for (token, op) in [("!=", Operator.notEquals), ("==", .equals), ("=", .equals)] {
            if let r = s.firstRange(of: token) {
                return keyed(s[..<r.lowerBound], op, [String(s[r.upperBound...].trimmingSpaces)])
            }
        }
        for (token, op) in [(" notin ", Operator.notIn), (" in ", .in)] {
            if let r = s.firstRange(of: token) {
                let list = s[r.upperBound...].trimmingSpaces
                guard list.hasPrefix("("), list.hasSuffix(")") else { return nil }
                let values = list.dropFirst().dropLast().split(separator: ",").map { String($0.trimmingSpaces) }
                return keyed(s[..<r.lowerBound], op, values)
            }
        }
        return keyed(s, .exists, [])
    }

    private static func keyed(_ rawKey: Substring, _ op: Operator, _ values: [String]) -> Requirement? {
        let key = rawKey.trimmingSpaces
        guard !key.isEmpty, !key.contains(" ") else { return nil }
        if let colon = key.firstIndex(of: ":") {
            let source = String(key[..<colon])
            return Requirement(source: source == "any" ? nil : source, key: String(key[key.index(after: colon)...]),
                               op: op, values: values)
        }
        return Requirement(source: nil, key: String(key), op: op, values: values)
    }
}

extension Substring {
    /// The text without leading and trailing spaces.
    var trimmingSpaces: Substring {
        let s = self
        guard let first = s.firstIndex(where: { $0 != " " }), let last = s.lastIndex(where: { $0 != " " }) else {
            return s[s.endIndex...]
        }
        return s[first...last]
    }
}
