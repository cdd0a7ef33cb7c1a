/// One identity label as Cilium writes it: `source:key=value` (e.g. `k8s:app=backend`,
/// `reserved:world`). Reserved labels have an empty value and print without `=`.
public struct Label: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Label sources Cilium uses (pkg/labels).
    public enum Source {
        /// In a selector: a key from any source.
        public static let any = "any"
        public static let k8s = "k8s"
        public static let reserved = "reserved"
        /// What `Label(parsing:)` gives a label written without a source.
        public static let unspec = "unspec"
    }

    /// The label key that carries a pod's namespace.
    public static let namespaceKey = "io.kubernetes.pod.namespace"
    /// Prefix of the keys that carry the namespace's own labels.
    public static let namespaceLabelsPrefix = "io.cilium.k8s.namespace.labels."
    /// The key that carries the pod's service account.
    public static let serviceAccountKey = "io.cilium.k8s.policy.serviceaccount"
    /// The key that carries the cluster name.
    public static let clusterKey = "io.cilium.k8s.policy.cluster"
    /// The only cluster a Sluice node knows.
    public static let clusterName = "default"

    public var source: String
    public var key: String
    public var value: String

    public init(source: String, key: String, value: String) {
        self.source = source
        self.key = key
        self.value = value
    }

    /// Cilium's `labels.ParseLabel`: `source:key=value`; the source is the text before the first
    /// `:` when that comes before any `=` (else `unspec`); no `=` means an empty value.
    public init(parsing text: some StringProtocol) {
        var rest = Substring(text)
        var source = Source.unspec
        if let colon = rest.firstIndex(of: ":"), rest.firstIndex(of: "=").map({ colon < $0 }) ?? true {
            source = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        guard let equals = rest.firstIndex(of: "=") else {
            self.init(source: source, key: String(rest), value: "")
            return
        }
        self.init(source: source, key: String(rest[..<equals]), value: String(rest[rest.index(after: equals)...]))
    }

    /// A Kubernetes-sourced label.
    public static func k8s(_ key: String, _ value: String) -> Label {
        Label(source: Source.k8s, key: key, value: value)
    }

    /// Splits a selector key such as `k8s:app` into source and key. Like Cilium's parseSource,
    /// everything before the first `:` is the source; no `:` (or an empty source) means `any`.
    public static func splitSource(_ text: some StringProtocol) -> (source: String, key: String) {
        guard let colon = text.firstIndex(of: ":") else { return (Source.any, String(text)) }
        let source = String(text[..<colon])
        let key = String(text[text.index(after: colon)...])
        return (source.isEmpty ? Source.any : source, key)
    }

    /// `k8s:app=web`; `reserved:world` for a reserved label without value.
    public var description: String {
        value.isEmpty && source == Source.reserved ? "\(source):\(key)" : "\(source):\(key)=\(value)"
    }

    public static func < (lhs: Label, rhs: Label) -> Bool {
        lhs.description < rhs.description
    }
}
