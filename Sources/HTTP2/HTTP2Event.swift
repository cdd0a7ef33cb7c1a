/// What a session's callbacks recorded during one `receive` or `produce` call, in order. The
/// connection handler drains them after the C call returned and acts on them.
public enum HTTP2Event: Sendable, Equatable {
    /// What a HEADERS block was, in nghttp2's terms (`nghttp2_headers_category`).
    public enum Category: Sendable, Equatable {
        /// The first block of a stream the peer opened (server side: a request).
        case request
        /// The first block answering a stream we opened (client side: a response, or a 1xx).
        case response
        /// Any later block: trailers (or the final head after a 1xx).
        case trailers
    }

    /// A complete header block; `endStream` when it also ended the peer's side of the stream.
    case headers(stream: Int32, block: HTTP2HeaderBlock, category: Category, endStream: Bool)
    /// DATA payload bytes (padding removed). Flow-control credit is returned only when the
    /// handler calls `consume` (automatic WINDOW_UPDATE is off).
    case data(stream: Int32, bytes: [UInt8])
    /// The peer ended its side of the stream with a DATA frame.
    case endStream(stream: Int32)
    /// The peer reset the stream (RST_STREAM received).
    case reset(stream: Int32, errorCode: UInt32)
    /// The stream is closed (for any reason); nothing more happens on it.
    case closed(stream: Int32, errorCode: UInt32)
    /// `count` bytes of body queued with `append` left in DATA frames on `stream`: the other side
    /// may be given that much flow-control credit back.
    case dataSent(stream: Int32, count: Int)
    /// The peer sent GOAWAY; streams above `lastStreamID` were not processed.
    case goaway(lastStreamID: Int32, errorCode: UInt32)
}
