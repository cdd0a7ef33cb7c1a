import Policy
import Yams

/// YAML text to `PolicyNode` trees, with Yams: for the CLI and tests. `Policy` itself (and so the
/// agent) has no YAML parser, because Yams brings in Foundation.
public enum PolicyYAML {
    /// Every document of `yamlText`, in order, as `PolicyNode` trees with Yams' marks (aliases
    /// resolved). Empty documents come back as null scalars, which `PolicyFileParser` skips.
    /// A YAML syntax error becomes a `LoadError` at the scanner's or parser's mark.
    public static func documents(_ yamlText: String, fileName: String) throws(LoadError) -> [PolicyNode] {
        var roots: [PolicyNode] = []
        do {
            let parser = try Parser(yaml: yamlText)
            while let root = try parser.nextRoot() {
                roots.append(PolicyNode(root))
            }
        } catch let error as YamlError {
            throw loadError(error, fileName: fileName)
        } catch {
            throw LoadError(file: fileName, line: 0, column: 0, field: "", message: "\(error)")
        }
        return roots
    }

    private static func loadError(_ error: YamlError, fileName: String) -> LoadError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return LoadError(file: fileName, line: mark.line, column: mark.column, field: "", message: problem)
        default:
            return LoadError(file: fileName, line: 0, column: 0, field: "", message: "\(error)")
        }
    }
}

extension PolicyNode {
    /// The policy tree of a Yams node: scalar text as `Node.Scalar.string` gives it, plain or not
    /// by its style, mapping pairs in order, and the node's mark (0:0 when it has none).
    init(_ node: Node) {
        let line = node.mark?.line ?? 0
        let column = node.mark?.column ?? 0
        switch node {
        case .scalar(let scalar):
            self = .scalar(scalar.string, plain: scalar.style == .plain, line: line, column: column)
        case .mapping(let mapping):
            self = .mapping(
                mapping.map { (key: PolicyNode($0.key), value: PolicyNode($0.value)) }, line: line, column: column)
        case .sequence(let sequence):
            self = .sequence(sequence.map { PolicyNode($0) }, line: line, column: column)
        }
    }
}

extension PolicyFileParser {
    /// Parses every document of `text` (YAML); empty documents are skipped.
    public static func parse(_ text: String, fileName: String) throws(LoadError) -> Output {
        try parse(documents: PolicyYAML.documents(text, fileName: fileName), fileName: fileName)
    }
}

extension PolicyRepository {
    /// `apply(documents:fileName:)` for YAML text: a syntax error is a `LoadError` too, and
    /// nothing changes.
    @discardableResult
    public func apply(yamlText: String, fileName: String) throws(LoadError) -> ApplyResult {
        try apply(documents: PolicyYAML.documents(yamlText, fileName: fileName), fileName: fileName)
    }

    /// `delete(documents:fileName:)` for YAML text.
    @discardableResult
    public func delete(yamlText: String, fileName: String) throws(LoadError) -> [PolicyKey] {
        try delete(documents: PolicyYAML.documents(yamlText, fileName: fileName), fileName: fileName)
    }
}

extension FQDNSelectorSet {
    /// `parse(documents:fileName:)` for YAML text.
    public static func parse(yamlText: String, fileName: String) throws(LoadError) -> [PolicyKey: FQDNSelectorSet] {
        try parse(documents: PolicyYAML.documents(yamlText, fileName: fileName), fileName: fileName)
    }
}
