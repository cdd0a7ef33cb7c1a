/// Why a message head or a chunked body was rejected.
///
/// `status` is the HTTP status a proxy answers with when the bytes came from the client (400, 414, 431,
/// 501 or 505); for bytes from the upstream the proxy maps any error to its own 502. `reason` is a
/// short static text meant for logs and flow records, never built from the input. Every value is
/// one of the named members below (the proxy's own refusals of a head included), so the catalogue
/// of 4xx/5xx answers stays in one place.
public struct ParseError: Error, Equatable, Sendable {
    /// The HTTP status this error maps to on the client side.
    public var status: Int
    /// A short, static description.
    public var reason: String
}

extension ParseError {
    // MARK: Start line (RFC 9112 section 3 and 4)

    /// The request line is not `method SP request-target SP HTTP-version CRLF`.
    public static let badRequestLine = ParseError(status: 400, reason: "malformed request line")
    /// The status line is not `HTTP-version SP 3DIGIT [SP reason] CRLF`.
    public static let badStatusLine = ParseError(status: 400, reason: "malformed status line")
    /// The method is empty or not a token.
    public static let badMethod = ParseError(status: 400, reason: "invalid method")
    /// The request-target is empty or holds a control, space or non-ASCII byte.
    public static let badTarget = ParseError(status: 400, reason: "invalid request target")
    /// The request-target is longer than `Limits.maxTargetBytes`.
    public static let targetTooLong = ParseError(status: 414, reason: "request target too long")
    /// The version is not `HTTP/DIGIT.DIGIT`.
    public static let badVersion = ParseError(status: 400, reason: "malformed HTTP version")
    /// The version is well formed but neither HTTP/1.0 nor HTTP/1.1.
    public static let unsupportedVersion = ParseError(status: 505, reason: "HTTP version not supported")

    // MARK: Line endings and field syntax (RFC 9112 section 2.2 and 5)

    /// A line ended in a bare LF (strict CRLF is required) or a CR was not followed by LF.
    public static let badLineEnding = ParseError(status: 400, reason: "line not terminated by CRLF")
    /// A field line starts with SP or HTAB (obs-fold, RFC 9112 section 5.2).
    public static let obsFold = ParseError(status: 400, reason: "obsolete line folding")
    /// Whitespace between a field name and the colon (RFC 9112 section 5.1).
    public static let spaceBeforeColon = ParseError(status: 400, reason: "whitespace before colon")
    /// A field name is empty or not a token, or the colon is missing.
    public static let badFieldName = ParseError(status: 400, reason: "invalid header name")
    /// A field value holds NUL or a control character other than HTAB.
    public static let badFieldValue = ParseError(status: 400, reason: "invalid header value")

    // MARK: Limits

    /// The head is longer than `Limits.maxHeadBytes`.
    public static let headTooLarge = ParseError(status: 431, reason: "header section too large")
    /// More field lines than `Limits.maxHeaderCount`.
    public static let tooManyHeaders = ParseError(status: 431, reason: "too many header fields")
    /// The head does not fit the proxy's receive buffer even at its largest.
    public static let headBufferFull = ParseError(status: 431, reason: "request header section too large")
    /// A Content-Length that fits an Int but not the proxy's body framing.
    public static let contentLengthTooLarge = ParseError(status: 400, reason: "Content-Length too large")

    // MARK: Message semantics (RFC 9112 section 6, RFC 9110 section 7.2)

    /// HTTP/1.1 request without a Host field.
    public static let missingHost = ParseError(status: 400, reason: "missing Host header")
    /// More than one Host field.
    public static let duplicateHost = ParseError(status: 400, reason: "multiple Host headers")
    /// A Host value (or the authority of an absolute-form target) that is not `host [":" port]`:
    /// userinfo, spaces, `#`, `/` and the like (`Authority.validate`).
    public static let badHost = ParseError(status: 400, reason: "invalid Host")
    /// A request-target holding `#`: a fragment is never sent (RFC 9112 section 3.2), and the policy
    /// and the backend could cut the path at different places.
    public static let fragmentInTarget = ParseError(status: 400, reason: "fragment in request target")
    /// A `%` in the path not followed by two hex digits (RFC 3986 section 2.1).
    public static let badPercentEncoding = ParseError(status: 400, reason: "invalid percent-encoding in path")
    /// A header name holding `_` while `HeadersWithUnderscoresAction.rejectRequest` is in force.
    public static let underscoreInHeaderName = ParseError(status: 400, reason: "underscore in header name")
    /// A Content-Length element is not 1*DIGIT or does not fit in an Int.
    public static let badContentLength = ParseError(status: 400, reason: "invalid Content-Length")
    /// Content-Length values that differ.
    public static let conflictingContentLength = ParseError(status: 400, reason: "conflicting Content-Length")
    /// Both Transfer-Encoding and Content-Length (request smuggling defence, RFC 9112 section 6.3).
    public static let transferEncodingWithContentLength =
        ParseError(status: 400, reason: "Transfer-Encoding with Content-Length")
    /// Transfer-Encoding in an HTTP/1.0 message (RFC 9112 section 6.1).
    public static let transferEncodingInHTTP10 = ParseError(status: 400, reason: "Transfer-Encoding in HTTP/1.0")
    /// An empty Transfer-Encoding or chunked applied more than once.
    public static let badTransferEncoding = ParseError(status: 400, reason: "invalid Transfer-Encoding")
    /// A request transfer-coding other than exactly `chunked`.
    public static let unsupportedTransferEncoding =
        ParseError(status: 501, reason: "unsupported transfer coding")
    /// `Upgrade: h2c` on a request with a chunked body: its end is unknown before the switch
    /// (RFC 7540 section 3.2), so it cannot be switched.
    public static let h2cUpgradeWithChunkedBody = ParseError(status: 400, reason: "h2c upgrade with a chunked body")

    // MARK: Chunked body (RFC 9112 section 7.1)

    /// The chunk-size is missing, not hex, or followed by something other than BWS `;` or CRLF.
    public static let badChunkSize = ParseError(status: 400, reason: "invalid chunk size")
    /// The chunk-size does not fit in an Int.
    public static let chunkSizeOverflow = ParseError(status: 400, reason: "chunk size overflow")
    /// A chunk extension holds a control character.
    public static let badChunkExtension = ParseError(status: 400, reason: "invalid chunk extension")
    /// The chunk-size line (with extensions) is longer than `Limits.maxChunkLineBytes`.
    public static let chunkLineTooLong = ParseError(status: 400, reason: "chunk line too long")
    /// Chunk data not followed by CRLF.
    public static let badChunkData = ParseError(status: 400, reason: "chunk data not followed by CRLF")
    /// A malformed trailer field line.
    public static let badTrailer = ParseError(status: 400, reason: "invalid trailer field")
    /// The trailer section is longer than `Limits.maxTrailerBytes`.
    public static let trailersTooLarge = ParseError(status: 431, reason: "trailer section too large")
}
