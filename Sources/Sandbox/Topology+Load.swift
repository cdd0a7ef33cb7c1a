import Foundation
import Yams

extension Topology {
    /// Namespaces that exist without being declared (as in a fresh Kubernetes cluster).
    public static let implicitNamespaces = ["default", "kube-system"]

    /// Reads and checks a topology file.
    /// - Throws: `TopologyError` naming the file, line and field.
    public static func load(path: String) throws(TopologyError) -> Topology {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw TopologyError(file: path, line: nil, field: "", message: "cannot read: \(error.localizedDescription)")
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses and checks topology YAML; `file` only labels errors.
    public static func parse(yaml: String, file: String = "<topology>") throws(TopologyError) -> Topology {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                return Topology()
            }
            root = node
        } catch {
            throw TopologyError(file: file, line: nil, field: "", message: "invalid YAML: \(error)")
        }
        let topology: Topology
        do {
            topology = try YAMLDecoder().decode(Topology.self, from: yaml)
        } catch let error as DecodingError {
            let (path, message) = describe(error)
            throw TopologyError(
                file: file, line: line(of: path, in: root), field: TopologyPathItem.render(path),
                message: message)
        } catch {
            throw TopologyError(file: file, line: nil, field: "", message: "\(error)")
        }
        if let problem = TopologyValidator(topology).firstProblem() {
            throw TopologyError(
                file: file, line: line(of: problem.path, in: root),
                field: TopologyPathItem.render(problem.path), message: problem.message)
        }
        return topology
    }

    /// The path and a readable message of a decoding failure.
    private static func describe(_ error: DecodingError) -> ([TopologyPathItem], String) {
        switch error {
        case .keyNotFound(let key, let context):
            return (pathItems(context.codingPath) + [.key(key.stringValue)], "missing field")
        case .typeMismatch(let type, let context):
            return (pathItems(context.codingPath), "expected \(typeName(type))")
        case .valueNotFound(let type, let context):
            return (pathItems(context.codingPath), "expected \(typeName(type)), found nothing")
        case .dataCorrupted(let context):
            return (pathItems(context.codingPath), context.debugDescription)
        @unknown default:
            return ([], "\(error)")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is UInt16.Type: return "a port number (1...65535)"
        case is UInt32.Type: return "a non-negative number"
        case is [String: String].Type: return "a mapping of strings"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a mapping" }
            return "a value of type \(name)"
        }
    }

    private static func pathItems(_ codingPath: [CodingKey]) -> [TopologyPathItem] {
        codingPath.map { key in
            if let index = key.intValue { return .index(index) }
            return .key(key.stringValue)
        }
    }

    /// The 1-based line of the node at `path` (or of its deepest existing ancestor).
    static func line(of path: [TopologyPathItem], in root: Node) -> Int? {
        var node = root
        var line = root.mark?.line
        for item in path {
            switch item {
            case .key(let key):
                guard let pair = node.mapping?.first(where: { $0.key.string == key }) else { return line }
                node = pair.value
                line = pair.key.mark?.line ?? line
            case .index(let index):
                guard let sequence = node.sequence, index >= 0, index < sequence.count else { return line }
                node = sequence[sequence.index(sequence.startIndex, offsetBy: index)]
                line = node.mark?.line ?? line
            }
        }
        return line
    }
}
