/// A container port with a name, as Kubernetes declares them; policies may name it in `toPorts`.
public struct NamedPort: Codable, Hashable, Sendable {
    /// The port's name (`http`, `dns`).
    public var name: String
    /// The port number.
    public var port: UInt16
    /// `TCP`, `UDP` or `SCTP`.
    public var `protocol`: String

    /// Memberwise initialiser.
    public init(name: String, port: UInt16, protocol: String = "TCP") {
        self.name = name
        self.port = port
        self.protocol = `protocol`
    }

    private enum CodingKeys: String, CodingKey {
        case name, port, `protocol`
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        port = try container.decode(UInt16.self, forKey: .port)
        `protocol` = try container.decodeIfPresent(String.self, forKey: .protocol) ?? "TCP"
    }
}
