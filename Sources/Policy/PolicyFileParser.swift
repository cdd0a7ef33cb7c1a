/// Turns the documents of a policy file (one `PolicyNode` tree per YAML document, built from
/// the text by `PolicyYAML`) into validated `PolicyDocument`s, or the first `LoadError`.
/// Pure: no I/O, no state.
public enum PolicyFileParser {
    /// The parsed documents plus non-fatal notes.
    public struct Output {
        public var documents: [PolicyDocument]
        public var warnings: [String]
    }

    private static let documentKeys: Set<String> = ["apiVersion", "kind", "metadata", "spec", "specs", "status"]

    /// Parses every document of a file named `fileName`; null (empty) documents are skipped.
    public static func parse(documents roots: [PolicyNode], fileName: String) throws(LoadError) -> Output {
        var output = Output(documents: [], warnings: [])
        let selectors = SelectorTable()
        for root in roots {
            let value = YAMLValue(node: root, path: "", file: fileName)
            if value.isNull { continue }
            output.documents.append(try parseDocument(value, selectors: selectors, warnings: &output.warnings))
        }
        return output
    }

    private static func parseDocument(
        _ value: YAMLValue, selectors: SelectorTable, warnings: inout [String]
    ) throws(LoadError) -> PolicyDocument {
        let mapping = try value.mapping(allowing: documentKeys)
        let apiVersionValue = try mapping.required("apiVersion")
        let kindValue = try mapping.required("kind")
        let apiVersion = try apiVersionValue.string()
        let kindText = try kindValue.string()
        guard let kind = PolicyKind(rawValue: kindText),
            apiVersion == (kind == .networkPolicy ? "networking.k8s.io/v1" : "cilium.io/v2")
        else {
            throw kindValue.error(
                "no matches for kind \"\(kindText)\" in version \"\(apiVersion)\" "
                    + "(sluice takes CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy)")
        }
        let metadataValue = try mapping.required("metadata")
        let metadata = try metadataValue.mapping(allowing: ["name", "namespace"], ignoringUnknown: true)
        let name = try metadata["name"]?.string() ?? ""
        if name.isEmpty {
            throw metadataValue.error("metadata.name: Required value: name or generateName is required")
        }
        let namespace =
            kind.isNamespaced
            ? (try metadata["namespace"]?.string()).flatMap { $0.isEmpty ? nil : $0 } ?? "default" : ""
        // The key outlives the file's node trees: its own copies of the names, so the trees'
        // pages can go back to the kernel once the apply is done.
        let key = PolicyKey(kind: kind, namespace: namespace.ownStorage, name: name.ownStorage)
        var rules: [PolicyRule] = []
        if kind == .networkPolicy {
            if mapping.has("specs") { throw (mapping.entries["specs"] ?? value).error("unknown field \"specs\"") }
            rules.append(try NetworkPolicyParser.parseSpec(try mapping.required("spec"), namespace: namespace))
        } else {
            var parser = CiliumRuleParser(namespace: namespace, selectors: selectors)
            if let spec = mapping["spec"] {
                rules.append(try parser.parseRule(spec))
            }
            for item in try mapping["specs"]?.sequence() ?? [] {
                rules.append(try parser.parseRule(item))
            }
            if rules.isEmpty {
                throw value.error("Invalid \(kind.rawValue) spec(s): empty policy")
            }
            warnings += parser.warnings.map { "\(key): \($0)" }
        }
        return PolicyDocument(key: key, rules: rules, file: value.file, line: value.node.line)
    }
}

extension String {
    /// The same text in storage of its own (none when it fits in the value: up to 15 bytes),
    /// not shared with the node tree it was read from.
    var ownStorage: String {
        var copy = self
        return copy.withUTF8 { String(decoding: $0, as: UTF8.self) }
    }
}
