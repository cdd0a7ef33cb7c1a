/// What a control request asks the agent (`ControlRequest.op`). On the wire it is the operation's
/// name (`"apply"`, `"ct-list"`); a name this build does not know decodes to `.unknown` so the
/// agent can answer it with an error instead of failing to read the request.
public enum ControlOperation: Hashable, Sendable, Codable, CustomStringConvertible {
    /// `sluice apply`: set the request's documents as one transaction.
    case apply
    /// `sluice policy get`: the repository's listing.
    case get
    /// `sluice delete -f FILE` (the request's documents) and `sluice policy delete NAME` (the
    /// request's `names` in its `namespace`): removes those objects as one transaction.
    case delete
    /// `sluice sandbox status` and the CLI's readiness check: workers and L7 ports.
    case status
    /// `sluice status`, `endpoint list`, `identity list`: an `AgentIntrospection` as JSON.
    case introspect
    /// `sluice bpf ct list`: `[ConntrackEntry]` as JSON.
    case conntrackList
    /// `sluice flows pause`: the running agent stops writing flow records (the proxy's, and the
    /// datapath's trace and policy-verdict records of allowed traffic) until `flowsResume`.
    case flowsPause
    /// `sluice flows resume`: records again after `flowsPause`.
    case flowsResume
    /// A name this build does not know.
    case unknown(String)

    public init(name: String) {
        switch name {
        case "apply": self = .apply
        case "get": self = .get
        case "delete": self = .delete
        case "status": self = .status
        case "introspect": self = .introspect
        case "ct-list": self = .conntrackList
        case "flows-pause": self = .flowsPause
        case "flows-resume": self = .flowsResume
        default: self = .unknown(name)
        }
    }

    /// The wire name.
    public var name: String {
        switch self {
        case .apply: "apply"
        case .get: "get"
        case .delete: "delete"
        case .status: "status"
        case .introspect: "introspect"
        case .conntrackList: "ct-list"
        case .flowsPause: "flows-pause"
        case .flowsResume: "flows-resume"
        case .unknown(let name): name
        }
    }

    public var description: String { name }

    public init(from decoder: Decoder) throws {
        self.init(name: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
