/// One identity label as Cilium writes it: `source:key=value` (e.g. `k8s:app=backend`,
/// `reserved:world`). Reserved labels have an empty value and print without `=`.
struct Label: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Label sources Cilium uses in selectors (pkg/labels).
    enum Source {
        static let any = "any"
        static let k8s = "k8s"
        static let reserved = "reserved"
    }

    /// The label key that carries a pod's namespace.
    static let namespaceKey = "io.kubernetes.pod.namespace"
    /// Prefix of the keys that carry the namespace's own labels.
    static let namespaceLabelsPrefix = "io.cilium.k8s.namespace.labels."
    /// The key that carries the pod's service account.
    static let serviceAccountKey = "io.cilium.k8s.policy.serviceaccount"
    /// The key that carries the cluster name.
    static let clusterKey = "io.cilium.k8s.policy.cluster"
    /// The only cluster a Sluice node knows.
    static let clusterName = "default"

    var source: String
    var key: String
    var value: String

    init(source: String, key: String, value: String) {
        self.source = source
        self.key = key
        self.value = value
    }

    /// A Kubernetes-sourced label.
    static func k8s(_ key: String, _ value: String) -> Label {
        Label(source: Source.k8s, key: key, value: value)
    }

    /// Splits a selector key such as `k8s:app` into source and key. Like Cilium's parseSource,
    /// everything before the first `:` is the source; no `:` means source `any`.
    static func splitSource(_ text: String) -> (source: String, key: String) {
        guard let colon = text.firstIndex(of: ":") else { return (Source.any, text) }
        let source = String(text[..<colon])
        let key = String(text[text.index(after: colon)...])
        return (source.isEmpty ? Source.any : source, key)
    }

    var description: String {
        value.isEmpty && source == Source.reserved ? "\(source):\(key)" : "\(source):\(key)=\(value)"
    }

    static func < (lhs: Label, rhs: Label) -> Bool {
        lhs.description < rhs.description
    }
}
