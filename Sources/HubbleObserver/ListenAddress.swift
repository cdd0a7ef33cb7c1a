import SluiceModel

/// A TCP listen address in Hubble's spelling: `HOST:PORT` or `:PORT` (every IPv4 address of the
/// observer's network namespace), HOST a dotted IPv4 address.
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    public var host: IPv4Address
    public var port: UInt16

    public init(host: IPv4Address, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `:PORT`; nil when it is neither.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        let hostText = text[..<colon]
        if hostText.isEmpty {
            host = IPv4Address(hostOrder: 0)
        } else if let address = IPv4Address(hostText) {
            host = address
        } else {
            return nil
        }
        self.port = port
    }

    /// `HOST:PORT`, `:PORT` for the wildcard.
    public var description: String {
        (host.hostOrder == 0 ? "" : host.description) + ":" + String(port)
    }
}
