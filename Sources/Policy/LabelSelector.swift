/// A Kubernetes label selector with Cilium's label sources: every requirement names a source
/// (`k8s`, `reserved`, or `any` when the key had no prefix) and a key.
///
/// Requirements are kept sorted so equal selectors compare equal and print the same.
struct LabelSelector: Hashable, Sendable {
    /// A `matchExpressions` operator (`matchLabels` entries become `.in` with one value).
    enum Operator: String, Sendable {
        case `in` = "In"
        case notIn = "NotIn"
        case exists = "Exists"
        case doesNotExist = "DoesNotExist"
    }

    /// One requirement on one key.
    struct Requirement: Hashable, Comparable, Sendable {
        var source: String
        var key: String
        var op: Operator
        var values: [String]

        static func < (lhs: Requirement, rhs: Requirement) -> Bool {
            (lhs.source, lhs.key, lhs.op.rawValue, lhs.values.joined(separator: ","))
                < (rhs.source, rhs.key, rhs.op.rawValue, rhs.values.joined(separator: ","))
        }

        /// `k8s:app=web`, `any:tier in (a,b)`, `k8s:x exists`.
        var canonical: String {
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

    private(set) var requirements: [Requirement] = []

    init(requirements: [Requirement] = []) {
        self.requirements = requirements.sorted()
    }

    /// True for `{}`: matches every label set.
    var isEmpty: Bool { requirements.isEmpty }

    /// Adds or replaces the single-value requirement `source:key=value` (Cilium's AddMatch).
    mutating func setMatch(source: String, key: String, value: String) {
        requirements.removeAll { $0.source == source && $0.key == key && $0.op == .in }
        requirements.append(Requirement(source: source, key: key, op: .in, values: [value]))
        requirements.sort()
    }

    /// Adds `source:key exists`.
    mutating func addExists(source: String, key: String) {
        requirements.append(Requirement(source: source, key: key, op: .exists, values: []))
        requirements.sort()
    }

    /// True when some requirement names `key` with source `k8s` or `any` (Cilium's
    /// `HasKey(podPrefixLbl) || HasKey(podAnyPrefixLbl)`).
    func namesKey(_ key: String) -> Bool {
        requirements.contains { $0.key == key && ($0.source == Label.Source.k8s || $0.source == Label.Source.any) }
    }

    /// True when some requirement uses the `reserved` source.
    var namesReservedLabel: Bool {
        requirements.contains { $0.source == Label.Source.reserved }
    }

    /// Whether `labels` satisfy every requirement. A requirement with source `any` looks at
    /// labels of every source; others only at labels of their own source.
    func matches(_ labels: [Label]) -> Bool {
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
    var canonical: String {
        "{" + requirements.map(\.canonical).joined(separator: ", ") + "}"
    }
}
