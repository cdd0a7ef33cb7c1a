/// A Kubernetes label selector (`matchLabels` + `matchExpressions`) with Cilium's label sources:
/// every requirement names a source (`k8s`, `reserved`, or `any` when the key had no prefix) and
/// a key. The policy compiler builds selectors from `endpointSelector`/`fromEndpoints`; Hubble's
/// `--label` filters are parsed from the `k=v` text form by `init?(text:)`.
///
/// Requirements are kept sorted so equal selectors compare equal and print the same.
public struct LabelSelector: Hashable, Sendable {
    /// A `matchExpressions` operator (`matchLabels` entries become `.in` with one value).
    public enum Operator: String, Sendable {
        case `in` = "In"
        case notIn = "NotIn"
        case exists = "Exists"
        case doesNotExist = "DoesNotExist"
    }

    /// One requirement on one key.
    public struct Requirement: Hashable, Comparable, Sendable {
        public var source: String
        public var key: String
        public var op: Operator
        public var values: [String]

        public init(source: String, key: String, op: Operator, values: [String]) {
            self.source = source
            self.key = key
            self.op = op
            self.values = values
        }

        public static func < (lhs: Requirement, rhs: Requirement) -> Bool {
            (lhs.source, lhs.key, lhs.op.rawValue, lhs.values.joined(separator: ","))
                < (rhs.source, rhs.key, rhs.op.rawValue, rhs.values.joined(separator: ","))
        }

        /// `k8s:app=web`, `any:tier in (a,b)`, `k8s:x exists`.
        public var canonical: String {
            let name = "\(source):\(key)"
            switch op {
            case .in where values.count == 1: return "\(name)=\(values[0])"
            case .in: return "\(name) in (\(values.joined(separator: ",")))"
            case .notIn: return "\(name) notin (\(values.joined(separator: ",")))"
            case .exists: return "\(name) exists"
            case .doesNotExist: return "!\(name)"
            }
        }
    }

    public private(set) var requirements: [Requirement] = []

    public init(requirements: [Requirement] = []) {
        self.requirements = requirements.sorted()
    }

    /// True for `{}`: matches every label set.
    public var isEmpty: Bool { requirements.isEmpty }

    /// Adds or replaces the single-value requirement `source:key=value` (Cilium's AddMatch).
    public mutating func setMatch(source: String, key: String, value: String) {
        requirements.removeAll { $0.source == source && $0.key == key && $0.op == .in }
        requirements.append(Requirement(source: source, key: key, op: .in, values: [value]))
        requirements.sort()
    }

    /// Adds `source:key exists`.
    public mutating func addExists(source: String, key: String) {
        requirements.append(Requirement(source: source, key: key, op: .exists, values: []))
        requirements.sort()
    }

    /// True when some requirement names `key` with source `k8s` or `any` (Cilium's
    /// `HasKey(podPrefixLbl) || HasKey(podAnyPrefixLbl)`).
    public func namesKey(_ key: String) -> Bool {
        requirements.contains { $0.key == key && ($0.source == Label.Source.k8s || $0.source == Label.Source.any) }
    }

    /// True when some requirement uses the `reserved` source.
    public var namesReservedLabel: Bool {
        requirements.contains { $0.source == Label.Source.reserved }
    }

    /// Whether `labels` satisfy every requirement. A requirement with source `any` looks at
    /// labels of every source; others only at labels of their own source. The first label with
    /// the key (and a fitting source) is the one compared.
    public func matches(_ labels: [Label]) -> Bool {
        for requirement in requirements {
            let value = Self.value(of: requirement, in: labels)
            switch requirement.op {
            case .in:
                guard let value, requirement.values.contains(value) else { return false }
            case .notIn:
                if let value, requirement.values.contains(value) { return false }
            case .exists:
                if value == nil { return false }
            case .doesNotExist:
                if value != nil { return false }
            }
        }
        return true
    }

    private static func value(of requirement: Requirement, in labels: [Label]) -> String? {
        for label in labels where label.key == requirement.key {
            if requirement.source == Label.Source.any || requirement.source == label.source {
                return label.value
            }
        }
        return nil
    }

    /// `{k8s:app=web, k8s:io.kubernetes.pod.namespace=backend}`; `{}` for the empty selector.
    public var canonical: String {
        "{" + requirements.map(\.canonical).joined(separator: ", ") + "}"
    }
}

extension LabelSelector {
    /// Parses the `k=v` text form of a Kubernetes selector, as Hubble's `--label` and cilium's
    /// `filters/labels.go` take it: comma-separated requirements (all must hold), each one of
    /// `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`,
    /// `key notin (a,b)`. A key may carry a source (`k8s:app`); without one (or with `any:`) it
    /// matches the key from any source. Nil when the text is empty or malformed.
    public init?(text: some StringProtocol) {
        var requirements: [Requirement] = []
        for part in Self.splitTopLevel(Substring(text)) {
            guard let requirement = Self.requirement(part.trimmingSpaces) else { return nil }
            requirements.append(requirement)
        }
        guard !requirements.isEmpty else { return nil }
        self.init(requirements: requirements)
    }

    /// Splits on commas outside parentheses.
    private static func splitTopLevel(_ text: Substring) -> [Substring] {
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
        for (token, op) in [("!=", Operator.notIn), ("==", .in), ("=", .in)] {
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
        let (source, name) = Label.splitSource(key)
        return Requirement(source: source, key: name, op: op, values: values)
    }
}
