import SluiceModel

/// Parses Kubernetes label selectors (`matchLabels`, `matchExpressions`) into `LabelSelector`s.
enum SelectorParser {
    /// How selector keys get their label source.
    enum KeySource {
        /// Cilium policies: a `source:` prefix in the key, else `any`.
        case fromPrefix
        /// NetworkPolicy pod selectors: every key is a `k8s` label as written.
        case k8s
        /// NetworkPolicy namespace selectors: `k8s:io.cilium.k8s.namespace.labels.<key>`.
        case namespaceLabel
    }

    /// Parses one selector mapping.
    static func parse(_ value: YAMLValue, keys: KeySource) throws(LoadError) -> LabelSelector {
        let mapping = try value.mapping(allowing: ["matchLabels", "matchExpressions"])
        var requirements: [LabelSelector.Requirement] = []
        if let labels = mapping["matchLabels"] {
            for (key, labelValue) in try labels.stringPairs() {
                let (source, name) = split(key, keys)
                requirements.append(.init(source: source, key: name, op: .in, values: [try labelValue.string()]))
            }
        }
        if let expressions = mapping["matchExpressions"] {
            for expression in try expressions.sequence() {
                requirements.append(try parseExpression(expression, keys: keys))
            }
        }
        return LabelSelector(requirements: requirements)
    }

    private static func parseExpression(_ value: YAMLValue, keys: KeySource) throws(LoadError)
        -> LabelSelector.Requirement
    {
        let mapping = try value.mapping(allowing: ["key", "operator", "values"])
        let keyValue = try mapping.required("key")
        let key = try keyValue.string()
        if key.isEmpty { throw keyValue.error("key must not be empty") }
        let opValue = try mapping.required("operator")
        guard let op = LabelSelector.Operator(rawValue: try opValue.string()) else {
            throw opValue.error("\"\(try opValue.string())\" is not a valid label selector operator")
        }
        let values = try mapping["values"]?.strings() ?? []
        switch op {
        case .in, .notIn:
            if values.isEmpty {
                throw (mapping["values"] ?? value).error(
                    "values: Required value: must be specified when `operator` is 'In' or 'NotIn'")
            }
        case .exists, .doesNotExist:
            if !values.isEmpty, let valuesNode = mapping["values"] {
                throw valuesNode.error(
                    "values: Invalid value: may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
            }
        }
        let (source, name) = split(key, keys)
        return .init(source: source, key: name, op: op, values: values.sorted())
    }

    private static func split(_ key: String, _ keys: KeySource) -> (String, String) {
        switch keys {
        case .fromPrefix: return Label.splitSource(key)
        case .k8s: return (Label.Source.k8s, key)
        case .namespaceLabel: return (Label.Source.k8s, Label.namespaceLabelsPrefix + key)
        }
    }

    /// Cilium's getEndpointSelector for peers: unless the selector already names a namespace
    /// (or selects reserved labels), a CNP adds its namespace and a CCNP requires that a
    /// namespace label exists, so `{}` never means "everything including world".
    static func scopePeer(_ selector: LabelSelector, namespace: String) -> LabelSelector {
        if selector.namesReservedLabel || selector.namesKey(Label.namespaceKey) { return selector }
        var scoped = selector
        if namespace.isEmpty {
            scoped.addExists(source: Label.Source.k8s, key: Label.namespaceKey)
        } else {
            scoped.setMatch(source: Label.Source.k8s, key: Label.namespaceKey, value: namespace)
        }
        return scoped
    }
}
