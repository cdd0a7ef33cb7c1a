/// A conflict found when the policies in force are compiled together, which Cilium refuses
/// (HTTP and DNS rules on one port) or the datapath cannot hold (more policy map entries than
/// the map has room for). The agent refuses a change whose snapshot has any, and refuses to
/// start from stored policies that have any: they are errors, never log lines.
public struct PolicyDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// One policy object a diagnostic is about: where it was applied from.
    public struct Source: Sendable, Equatable {
        /// The file it came from and the line of its document (0 when unknown).
        public var file: String
        public var line: Int
        public var key: PolicyKey
    }

    /// What is wrong, naming the endpoint, port and fields.
    public var message: String
    /// The objects involved, sorted by key; empty when no single object is at fault.
    public var sources: [Source]

    /// `a.yaml:3: ciliumnetworkpolicy.cilium.io/default/x: message (also b.yaml:9: ...)`.
    public var description: String {
        guard let first = sources.first else { return message }
        var text = Self.place(first) + message
        let others = sources.dropFirst().map { Self.place($0).dropLast(2) }
        if !others.isEmpty { text += " (also " + others.joined(separator: ", ") + ")" }
        return text
    }

    private static func place(_ source: Source) -> String {
        "\(source.file):\(source.line): \(source.key): "
    }
}
