/// The body bytes queued to leave on one stream, and how the stream ends (END_STREAM on the last
/// DATA frame, or trailers). Filled by the connection handler, drained by nghttp2's data-source
/// read callback during `produce`. Bounded by the sender's flow control: the handler only ever
/// has as many bytes as the other side's window let in.
///
/// In a gather-mode session (`HTTP2Session(gather: true)`) the queued arrays are never copied:
/// the read callback reserves a DATA frame's bytes (`reserve`) and the send-data callback hands
/// the arrays themselves to the write batch (`give`), and tiny appends are not coalesced.
final class HTTP2Outbox {
    private var chunks: [[UInt8]] = []
    /// The first chunk still holding bytes (chunks before it are spent, dropped in bulk).
    private var head = 0
    private var offset = 0
    private(set) var queued = 0
    /// Bytes reserved for the DATA frame nghttp2 is sending now (gather mode), still in `chunks`.
    private(set) var reserved = 0
    /// No more bytes will be appended.
    var ended = false
    /// Sent as a HEADERS frame with END_STREAM after the last byte, when set.
    var trailers: HTTP2HeaderBlock?
    /// nghttp2 was told NGHTTP2_ERR_DEFERRED and must be resumed when bytes or the end arrive.
    var deferred = false
    /// Appends keep each array whole (gather mode): nothing is copied before the socket.
    let keepsChunks: Bool

    init(keepsChunks: Bool = false) { self.keepsChunks = keepsChunks }

    /// A chunk smaller than this takes the next bytes into itself instead of a new chunk follows
    /// it: a peer that sends many tiny DATA frames costs one growing array, not an array (and its
    /// allocation overhead, ~50 bytes for 1 byte of body) per frame, and leaves in full frames.
    static let coalesceBelow = 16 * 1024

    func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let last = chunks.count - 1
        if !keepsChunks && last >= head && chunks[last].count < Self.coalesceBelow {
            chunks[last].append(contentsOf: bytes)
        } else {
            chunks.append(bytes)
        }
        queued += bytes.count
    }

    /// Chunks held (for tests: tiny appends share one).
    var chunkCount: Int { chunks.count - head }

    /// Copies up to `capacity` bytes into `into`; returns how many.
    func take(into: UnsafeMutablePointer<UInt8>, capacity: Int) -> Int {
        var written = 0
        while written < capacity, head < chunks.count {
            let n = chunks[head].withUnsafeBufferPointer { src in
                let n = min(capacity - written, src.count - offset)
                (into + written).update(from: src.baseAddress! + offset, count: n)
                return n
            }
            written += n
            offset += n
            if offset == chunks[head].count { dropHead() }
        }
        queued -= written
        return written
    }

    /// Gather mode: the next `count` bytes (at most `queued`) belong to the DATA frame being
    /// prepared; they leave the queue now and the chunks at `give`.
    func reserve(_ count: Int) {
        precondition(count <= queued && reserved == 0)
        queued -= count
        reserved = count
    }

    /// Gather mode: hands the reserved bytes to `batch` by reference, in order.
    func give(to batch: HTTP2WriteBatch) {
        var left = reserved
        while left > 0 {
            let size = chunks[head].count
            let n = min(left, size - offset)
            if offset + n == size {
                // The chunk's last bytes: the array moves to the batch (no retain and release).
                var chunk: [UInt8] = []
                swap(&chunk, &chunks[head])
                batch.append(chunk, offset: offset, count: n)
                dropHead()
            } else {
                batch.append(chunks[head], offset: offset, count: n)
                offset += n
            }
            left -= n
        }
        reserved = 0
    }

    /// The head chunk is spent: released now, its slot reclaimed with the others once the spent
    /// slots are half the array (so taking from the front costs no shift per chunk).
    private func dropHead() {
        chunks[head] = []
        head += 1
        offset = 0
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 32 && head * 2 >= chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }
}
