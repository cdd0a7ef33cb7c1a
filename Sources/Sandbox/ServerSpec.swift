import SluiceModel

/// The kinds of server a sandbox pod (or world entry) can run.
public enum ServerKind: String, CaseIterable, Codable, Sendable {
    /// The real httpbin (`gunicorn httpbin:app` from the project's venv).
    case httpbin
    /// The same httpbin over TLS (gunicorn `--certfile`/`--keyfile`), HTTP/1.1 only, with the
    /// host's certificate from the sandbox CA (`SandboxTLS`).
    case https
    /// `integration/servers/static_http.py`: 200 and a body naming the pod for any request.
    case httpStatic = "http-static"
    /// `integration/servers/tcp_echo.py`: accepts and echoes.
    case tcp
    /// `integration/servers/h2c_server.py` (Python h2): HTTP/2 cleartext with prior knowledge,
    /// 200 and a JSON description of the request for any path; `/bytes/N` sends N bytes.
    case h2c
    /// `integration/servers/grpc_server.py` (Python grpcio): `grpc.health.v1.Health` (Check and
    /// Watch) and `sluice.test.Tester` (unary Echo, server-streaming Count).
    case grpc
    /// `h2c_server.py` over TLS (`--cert`/`--key`): HTTP/2 with ALPN `h2` only.
    case h2TLS = "h2-tls"
    /// `grpc_server.py` over TLS (`--cert`/`--key`): the same services, TLS credentials.
    case grpcTLS = "grpc-tls"

    /// Whether the server needs a certificate from the sandbox CA.
    public var usesTLS: Bool {
        switch self {
        case .https, .h2TLS, .grpcTLS: return true
        case .httpbin, .httpStatic, .tcp, .h2c, .grpc: return false
        }
    }
}

/// One server of a pod, written `KIND:PORT` in the topology file (`"httpbin:80"`).
public struct ServerSpec: Hashable, Codable, Sendable, CustomStringConvertible {
    /// What runs.
    public var kind: ServerKind
    /// The TCP port it listens on (1...65535).
    public var port: UInt16

    /// The topology-file spelling, `KIND:PORT`.
    public var description: String {
        "\(kind.rawValue):\(port)"
    }

    /// Why a `KIND:PORT` string was rejected.
    public enum ParseFailure: Error, Equatable, Sendable, CustomStringConvertible {
        /// No colon, or nothing on one side of it.
        case malformed(String)
        /// The part before the colon is not a known kind.
        case unknownKind(String)
        /// The part after the colon is not a number in 1...65535.
        case badPort(String)

        public var description: String {
            switch self {
            case .malformed(let text):
                return "server \"\(text)\" is not KIND:PORT"
            case .unknownKind(let kind):
                let known = ServerKind.allCases.map(\.rawValue).joined(separator: ", ")
                return "unknown server kind \"\(kind)\" (known: \(known))"
            case .badPort(let port):
                return "bad port \"\(port)\" (must be 1...65535)"
            }
        }
    }

    /// Parses `KIND:PORT`.
    public static func parse(_ text: String) throws(ParseFailure) -> ServerSpec {
        guard let colon = text.lastIndex(of: ":") else { throw .malformed(text) }
        let kindText = String(text[..<colon].trimmingSpaces)
        let portText = String(text[text.index(after: colon)...].trimmingSpaces)
        guard !kindText.isEmpty, !portText.isEmpty else { throw .malformed(text) }
        guard let kind = ServerKind(rawValue: kindText) else { throw .unknownKind(kindText) }
        guard let port = parsePort(portText) else { throw .badPort(portText) }
        return ServerSpec(kind: kind, port: port)
    }

    /// A decimal port in 1...65535, or `nil`.
    static func parsePort(_ text: String) -> UInt16? {
        guard text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }),
            let value = UInt16(text), value > 0
        else { return nil }
        return value
    }

}

extension ServerSpec {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try ServerSpec.parse(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
