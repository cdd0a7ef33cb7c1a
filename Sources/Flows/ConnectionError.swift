extension Flow {
    /// How a proxied exchange (an HTTP request or a DNS query) ended when a peer's connection
    /// failed (Sluice's own field: Hubble's HTTP and DNS records have none, so it shows in
    /// `Summary`): the side whose read, write or send failed and its errno, 0 when that peer
    /// closed (EOF) before the exchange was complete.
    public struct ConnectionError: Sendable, Equatable {
        /// Which peer of the proxy's two connections failed.
        public enum Side: UInt8, Sendable {
            case downstream = 1
            case upstream = 2
        }

        public var side: Side
        public var errno: UInt16

        public init(side: Side, errno: UInt16) {
            self.side = side
            self.errno = errno
        }

        /// `upstream ECONNRESET`, `downstream EOF`, `upstream errno 5` for a number without a name here.
        public var text: String {
            let who = side == .downstream ? "downstream" : "upstream"
            return who + " " + (Self.names[errno] ?? "errno \(errno)")
        }

        /// The errnos a socket read, write or connect ends with (Linux numbers).
        private static let names: [UInt16: String] = [
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
}
