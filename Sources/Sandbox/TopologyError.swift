/// Why a topology file was rejected: the file, the line when known, the field (a path such as
/// `pods[1].servers[0]`) and the reason.
public struct TopologyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file name as given to `Topology.load(path:)` (or the `file:` label of `parse`).
    public let file: String
    /// The 1-based line of the offending field, when the YAML parser reported one.
    public let line: Int?
    /// The field's path (`pods[1].namespace`); empty for the whole document.
    public let field: String
    /// What is wrong.
    public let message: String

    /// Memberwise initialiser.
    public init(file: String, line: Int?, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `FILE:LINE: FIELD: MESSAGE`, leaving out the parts that are unknown.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !field.isEmpty { text += "\(field): " }
        return text + message
    }
}

/// One step of a path into the YAML document: a mapping key or a sequence index.
enum TopologyPathItem: Equatable, Sendable {
    case key(String)
    case index(Int)

    /// Renders a path as `pods[1].servers[0]`.
    static func render(_ path: [TopologyPathItem]) -> String {
        var text = ""
        for item in path {
            switch item {
            case .key(let key):
                text += text.isEmpty ? key : ".\(key)"
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }
}
