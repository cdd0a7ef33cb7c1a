import Policy

/// A control request: one JSON object per connection, sent by `sluice apply`, `sluice policy get`.
public struct ControlRequest: Codable, Sendable {
    public var op: ControlOperation
    /// apply: the file's name (for error messages) and its documents, parsed from YAML by the
    /// CLI (`PolicyYAML`) with their lines and columns, so the agent's errors still point into
    /// the file. The agent has no YAML parser (it would bring Foundation into its memory).
    public var file: String?
    public var documents: [PolicyNode]?
    /// delete by name (`sluice policy delete NAME -n NS`): the objects' names and namespace
    /// (nil: `default`; cluster-wide objects match by name whatever the namespace).
    public var names: [String]?
    public var namespace: String?
    /// delete: objects that are not in force are not an error (kubectl's `--ignore-not-found`).
    public var ignoreNotFound: Bool?

    public init(
        op: ControlOperation, file: String? = nil, documents: [PolicyNode]? = nil, names: [String]? = nil,
        namespace: String? = nil, ignoreNotFound: Bool? = nil
    ) {
        self.op = op
        self.file = file
        self.documents = documents
        self.names = names
        self.namespace = namespace
        self.ignoreNotFound = ignoreNotFound
    }
}

/// The agent's answer. Operations with structured answers (`introspect`, `ct-list`) carry their
/// JSON in `message`. Built as `.success(_:)` or `.failure(_:)`; on the wire
/// `{"message": …, "ok": true|false}`.
public struct ControlResponse: Codable, Sendable {
    public var ok: Bool
    public var message: String

    /// The operation was done; `message` is its answer (possibly empty, or a JSON document).
    public static func success(_ message: String) -> ControlResponse { ControlResponse(ok: true, message: message) }

    /// The operation was refused or failed; `message` says why, for the user.
    public static func failure(_ message: String) -> ControlResponse { ControlResponse(ok: false, message: message) }
}

/// A failure of the control socket (either side), worded for the user.
public struct ControlError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}
