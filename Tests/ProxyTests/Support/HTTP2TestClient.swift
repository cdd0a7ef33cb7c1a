import HTTP2

@testable import Proxy

/// What the HTTP/2 connection tests share: a client session on a fresh proxied connection, a
/// stream's `:status`, and raw frames for the tests that speak the wire themselves.
extension ProxyTestCase {
    func h2client(limits: HTTP2Limits = .default) throws -> HTTP2Peer {
        try HTTP2Peer(socket: try client(), role: .client, limits: limits)
    }

    func h2status(_ peer: HTTP2Peer, _ id: Int32) -> String? {
        peer.headers(id).first?.text(of: ":status")
    }

    /// One frame: the 9-byte header (length, type, flags, stream) and `payload`.
    static func rawFrame(_ type: UInt8, _ flags: UInt8, _ stream: some BinaryInteger, _ payload: [UInt8] = [])
        -> [UInt8]
    {
        let n = payload.count
        let s = UInt32(truncatingIfNeeded: stream)
        return [
            UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
            UInt8(s >> 24), UInt8(s >> 16 & 0xFF), UInt8(s >> 8 & 0xFF), UInt8(s & 0xFF),
        ] + payload
    }
}
