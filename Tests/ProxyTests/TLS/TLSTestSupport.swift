import Policy
import SluiceTestSupport

@testable import Proxy

/// The TLS world of the proxy tests: the client pod (endpoint 7) may reach the backend (endpoint
/// 3) on TCP 8443 only with the server names given; ClientHello bytes built to the RFC 8446
/// layout (record, handshake header, body with `server_name` and ALPN).
enum TLSTestWorld {
    static let port: UInt16 = 8443

    static func yaml(serverNames: [String], extraToPort: String = "") -> String {
        let list = serverNames.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: client-sni, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: client}}
              egress:
              - toEndpoints: [{matchLabels: {app: backend}}]
                toPorts:
                - ports: [{port: "\(port)", protocol: TCP}]
                  serverNames: [\(list)]
            \(extraToPort)
            """
    }

    static func snapshot(serverNames: [String]) throws -> PolicySnapshot {
        try TestPolicy.snapshot(yaml(serverNames: serverNames))
    }

    /// What the datapath records for a client → backend connection steered for the client's egress rules.
    static func egressSteer(_ snapshot: PolicySnapshot) -> SteerInfo {
        SteerInfo(
            sourceEndpoint: TestPolicy.clientID, destinationEndpoint: TestPolicy.backendID,
            sourceIdentity: snapshot.identity(ofEndpoint: TestPolicy.clientID) ?? 0,
            destinationIdentity: snapshot.identity(ofEndpoint: TestPolicy.backendID) ?? 0, sides: [.egress])
    }

    /// A TLS 1.3-shaped ClientHello in one record; `serverName` nil: no `server_name` extension.
    static func clientHello(serverName: String?, alpn: [String] = ["h2", "http/1.1"]) -> [UInt8] {
        func u16(_ n: Int) -> [UInt8] { [UInt8(n >> 8), UInt8(n & 0xff)] }
        var extensions: [UInt8] = []
        if let serverName {
            let name = Array(serverName.utf8)
            let entry = [0] + u16(name.count) + name
            let list = u16(entry.count) + entry
            extensions += u16(0) + u16(list.count) + list
        }
        if !alpn.isEmpty {
            let names = alpn.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
            let list = u16(names.count) + names
            extensions += u16(16) + u16(list.count) + list
        }
        var body: [UInt8] = [0x03, 0x03] + [UInt8](repeating: 0x5a, count: 32) + [0]
        body += u16(2) + [0x13, 0x01] + [1, 0]
        body += u16(extensions.count) + extensions
        let handshake = [1, 0] + u16(body.count) + body
        return [0x16, 0x03, 0x01] + u16(handshake.count) + handshake
    }
}
