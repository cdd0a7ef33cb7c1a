/// The two peers of a proxied connection: the client that connected to the proxy and the
/// server the proxy connected to. Raw values are the flow record's `error_side` byte
/// (bpf/include/sluice_flow.h: 1 downstream, 2 upstream, 0 none).
public enum PeerSide: UInt8, Sendable {
    case downstream = 1
    case upstream = 2
}

/// How one peer's stream ended: its side and the errno of the failed call, 0 for an orderly
/// EOF (the peer's FIN). The socket layer returns it (`SluiceIO.IOStep.closed`), the proxy
/// writes it into the flow record (`error_side`, `error_errno`) and the record reads back as
/// it (`Flow.ConnectionError`), so who ended the connection and why is one value throughout.
public struct PeerClose: Equatable, Sendable {
    public typealias Side = PeerSide

    public var side: PeerSide
    public var errno: Int32

    public init(side: PeerSide, errno: Int32) {
        self.side = side
        self.errno = errno
    }

    /// The peer sent its FIN; no error.
    public var isOrderly: Bool { errno == 0 }

    /// `upstream ECONNRESET`, `downstream EOF`, `upstream errno 5` for a number without a name here.
    public var text: String {
        let who = side == .downstream ? "downstream" : "upstream"
        return who + " " + (Self.names[errno] ?? "errno \(errno)")
    }

    /// The errnos a socket read, write or connect ends with (Linux numbers).
    private static let names: [Int32: String] = [
        0: "EOF",
        // A TLS secret (certificate, key or CA) that is not there.
        2: "ENOENT (TLS secret missing)", 12: "ENOMEM", 32: "EPIPE", 71: "EPROTO", 101: "ENETUNREACH",
        // TLSPeer's code for a ClientHello whose ALPN offer the proxy refused (only h2, to an
        // upstream that speaks HTTP/1.1 only).
        92: "ENOPROTOOPT (ALPN: the client offers only h2, the upstream speaks HTTP/1.1)",
        103: "ECONNABORTED",
        104: "ECONNRESET", 105: "ENOBUFS",
        // TLSPeer's code for a peer certificate that did not verify (untrusted CA, wrong name).
        129: "EKEYREJECTED (TLS certificate not verified)",
        110: "ETIMEDOUT", 111: "ECONNREFUSED", 112: "EHOSTDOWN", 113: "EHOSTUNREACH",
    ]
}
