import HTTP2
import SluiceIO

/// The answers the proxy itself gives on an HTTP/2 stream, as Cilium's Envoy gives them
/// (cilium-semantics 3.1): the HTTP/1 403 with `:status 403`, or, for a gRPC request
/// (`content-type: application/grpc…`), Envoy's trailers-only reply with the gRPC status for the
/// HTTP status (Envoy `Grpc::Utility::httpToGrpcStatus`) and the body as `grpc-message`.
enum HTTP2LocalReply {
    struct Reply {
        var headers: HTTP2HeaderBlock
        var body: [UInt8]
        /// The `:status` the client sees (200 for a gRPC trailers-only answer).
        var status: Int
    }

    /// `location` makes a redirect (307 for an encoded slash): no body, a `location` field.
    static func make(status: Int, grpc: Bool, accessDenied: String, location: [UInt8]? = nil) -> Reply {
        let date = httpDate()
        if let location, !grpc {
            var headers = HTTP2HeaderBlock([(":status", String(status))])
            headers.append(name: Array("location".utf8), value: location)
            for (n, v) in [("content-length", "0"), ("date", date), ("server", "envoy")] {
                headers.append(name: n, value: v)
            }
            return Reply(headers: headers, body: [], status: status)
        }
        let body = Array(LocalReply.body(status, accessDenied: accessDenied).utf8)
        if grpc {
            let headers = HTTP2HeaderBlock([
                (":status", "200"), ("content-type", "application/grpc"),
                ("grpc-status", String(grpcStatus(forHTTP: status))),
                ("grpc-message", percentEncoded(body)),
                ("date", date), ("server", "envoy"),
            ])
            return Reply(headers: headers, body: [], status: 200)
        }
        let headers = HTTP2HeaderBlock([
            (":status", String(status)), ("content-length", String(body.count)),
            ("content-type", "text/plain"), ("date", date), ("server", "envoy"),
        ])
        return Reply(headers: headers, body: body, status: status)
    }

    /// Envoy's httpToGrpcStatus (source/common/grpc/status.cc).
    static func grpcStatus(forHTTP status: Int) -> Int {
        switch status {
        case 400: return 13  // INTERNAL
        case 401: return 16  // UNAUTHENTICATED
        case 403: return 7  // PERMISSION_DENIED
        case 404: return 12  // UNIMPLEMENTED
        case 429, 502, 503, 504: return 14  // UNAVAILABLE
        default: return 2  // UNKNOWN
        }
    }

    /// gRPC's grpc-message encoding (PROTOCOL-HTTP2.md): bytes outside 0x20...0x7E and `%` as
    /// `%XX`; spaces stay. "Access denied\r\n" becomes "Access denied%0D%0A".
    static func percentEncoded(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in bytes {
            if b >= 0x20 && b <= 0x7E && b != 0x25 {
                out.append(b)
            } else {
                out += [0x25, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func httpDate() -> String {
        var buf = [CChar](repeating: 0, count: 32)
        buf.withUnsafeMutableBufferPointer { p in
            SystemClock.httpDate(unixSeconds: Int64(SystemClock.realtimeNs() / 1_000_000_000), into: p.baseAddress!)
        }
        return String(decoding: buf.prefix(29).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
