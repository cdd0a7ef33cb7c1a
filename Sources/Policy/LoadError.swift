/// Why a policy file was refused: where (file, 1-based line and column, YAML path) and what.
///
/// `description` reads like a compiler diagnostic:
/// `policy.yaml:14:13: spec.ingress[0].toPorts[0].ports[0].protocol: L7 rules can only apply to TCP (not ANY) except for DNS rules`.
/// Messages use Cilium's wording (pkg/policy/api/rule_validation.go) where Cilium has one.
public struct LoadError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file name given to `PolicyRepository.apply(documents:fileName:)` (or to
    /// `PolicyYAML.documents`, for YAML syntax errors).
    public var file: String
    /// 1-based line of the offending node (0 when unknown).
    public var line: Int
    /// 1-based column of the offending node (0 when unknown).
    public var column: Int
    /// YAML path of the offending field, e.g. `spec.ingress[0].toPorts[0].rules.http[1].path`;
    /// multi-document files prefix nothing: the line tells the document apart.
    public var field: String
    /// What is wrong.
    public var message: String

    /// Creates an error value.
    public init(file: String, line: Int, column: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.message = message
    }

    /// `file:line:column: field: message` (the field part is left out when empty).
    public var description: String {
        let place = "\(file):\(line):\(column): "
        return field.isEmpty ? place + message : place + field + ": " + message
    }
}
