/// The body bytes queued to leave on one stream, and how the stream ends (END_STREAM on the last
/// DATA frame, or trailers). Filled by the connection handler, drained by nghttp2's data-source
/// read callback during `produce`. Bounded by the sender's flow control: the handler only ever
/// has as many bytes as the other side's window let in.
final class HTTP2Outbox {
    private var chunks: [[UInt8]] = []
    private var offset = 0
    private(set) var queued = 0
    /// No more bytes will be appended.
    var ended = false
    /// Sent as a HEADERS frame with END_STREAM after the last byte, when set.
    var trailers: HTTP2HeaderBlock?
    /// nghttp2 was told NGHTTP2_ERR_DEFERRED and must be resumed when bytes or the end arrive.
    var deferred = false

    /// A chunk smaller than this takes the next bytes into itself instead of a new chunk follows
    /// it: a peer that sends many tiny DATA frames costs one growing array, not an array (and its
    /// allocation overhead, ~50 bytes for 1 byte of body) per frame, and leaves in full frames.
    static let coalesceBelow = 16 * 1024

    func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let last = chunks.count - 1
        if last >= 0 && chunks[last].count < Self.coalesceBelow {
            chunks[last].append(contentsOf: bytes)
        } else {
            chunks.append(bytes)
        }
        queued += bytes.count
    }

    /// Chunks held (for tests: tiny appends share one).
    var chunkCount: Int { chunks.count }

    /// Copies up to `capacity` bytes into `into`; returns how many.
    func take(into: UnsafeMutablePointer<UInt8>, capacity: Int) -> Int {
        var written = 0
        while written < capacity, !chunks.isEmpty {
            let chunk = chunks[0]
            let n = min(capacity - written, chunk.count - offset)
            chunk.withUnsafeBufferPointer { src in
                (into + written).update(from: src.baseAddress! + offset, count: n)
            }
            written += n
            offset += n
            if offset == chunk.count {
                chunks.removeFirst()
                offset = 0
            }
        }
        queued -= written
        return written
    }
}
