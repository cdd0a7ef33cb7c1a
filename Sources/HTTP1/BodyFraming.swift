/// How the body that follows a head is delimited (RFC 9112 section 6.3).
public enum BodyFraming: Equatable, Sendable {
    /// No body: a request without Content-Length or Transfer-Encoding, or a response to HEAD, a 1xx,
    /// 204 or 304.
    case none
    /// Exactly this many bytes follow the head.
    case contentLength(Int)
    /// A chunked body follows; find its end with `ChunkedScanner`.
    case chunked
    /// A response body that ends when the server closes the connection.
    case untilClose
}
