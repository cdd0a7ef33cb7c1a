import Glibc

/// The frames of a gather-mode `HTTP2Session` (`produce(into:limit:)`), ready for one writev:
/// control frames and DATA frame headers copied into a small byte store that is reused, DATA
/// payloads as references to the arrays the handler queued (`append(stream:_:)`), held here until
/// they are written. Nothing per flush is allocated once the stores have grown to the usual
/// batch: the same segment table, byte store and iovec table serve every flush.
///
/// The payload arrays are never mutated while they are here (the session took them by value and
/// keeps them until they are handed over), so their storage stays where it was when it arrived;
/// the batch keeps a reference to each so it lives until its bytes are written.
///
/// One thread at a time (the session's).
public final class HTTP2WriteBatch {
    /// One piece of the output: `count` bytes at `base + start`, or at `start` in the byte store
    /// when `base` is nil (the store may move when it grows; offsets do not).
    struct Segment {
        var base: UnsafeRawPointer?
        var start: Int
        var count: Int
    }

    private var segments: [Segment] = []
    /// The first segment not yet fully written.
    private var head = 0
    /// The payload arrays the segments point into.
    private var owners: [[UInt8]] = []
    private var store: UnsafeMutableRawPointer
    private var storeCapacity: Int
    private var storeUsed = 0
    private var iovecs: UnsafeMutablePointer<iovec>
    private var iovecCapacity: Int
    /// Bytes in the batch not yet written.
    public private(set) var count = 0
    /// Frames added since the batch was made (DATA frames and chunks of other frames; tests).
    public private(set) var frames = 0

    /// The most iovecs one `withIOVecs` hands out (Linux's IOV_MAX).
    public static let maxIOVecs = 1024

    public init(storeCapacity: Int = 16 * 1024) {
        self.storeCapacity = max(storeCapacity, 64)
        store = UnsafeMutableRawPointer.allocate(byteCount: self.storeCapacity, alignment: 16)
        iovecCapacity = 64
        iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: iovecCapacity)
    }

    deinit {
        store.deallocate()
        iovecs.deallocate()
    }

    public var isEmpty: Bool { count == 0 }

    /// Segments not yet fully written (tests: a writev's iovec count).
    public var segmentCount: Int { segments.count - head }

    /// Copies `bytes` into the byte store (a control frame, a DATA frame header); joins the
    /// previous segment when that ends where these bytes go.
    public func append(copying bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        if storeUsed + bytes.count > storeCapacity { growStore(storeUsed + bytes.count) }
        (store + storeUsed).copyMemory(from: source, byteCount: bytes.count)
        if let last = segments.indices.last, last >= head, segments[last].base == nil,
            segments[last].start + segments[last].count == storeUsed
        {
            segments[last].count += bytes.count
        } else {
            segments.append(Segment(base: nil, start: storeUsed, count: bytes.count))
        }
        storeUsed += bytes.count
        count += bytes.count
    }

    /// `count` bytes of `chunk` from `offset`, by reference (the array is kept until written).
    func append(_ chunk: consuming [UInt8], offset: Int, count n: Int) {
        guard n > 0 else { return }
        precondition(offset >= 0 && offset + n <= chunk.count)
        let base = chunk.withUnsafeBytes { $0.baseAddress! }
        owners.append(chunk)
        segments.append(Segment(base: base, start: offset, count: n))
        count += n
    }

    /// One more frame went in (`frames`).
    func countFrame() { frames += 1 }

    /// The unwritten bytes as at most `maxIOVecs` iovecs, in order, and their byte count, for one
    /// writev.
    public func withIOVecs<R>(_ body: (UnsafeBufferPointer<iovec>, Int) -> R) -> R {
        let n = min(segments.count - head, Self.maxIOVecs)
        if n > iovecCapacity {
            iovecs.deallocate()
            iovecCapacity = max(n, 2 * iovecCapacity)
            iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: iovecCapacity)
        }
        var bytes = 0
        for i in 0..<n {
            let s = segments[head + i]
            let base = s.base.map { UnsafeMutableRawPointer(mutating: $0) } ?? store
            iovecs[i] = iovec(iov_base: base + s.start, iov_len: s.count)
            bytes += s.count
        }
        return body(UnsafeBufferPointer(start: iovecs, count: n), bytes)
    }

    /// Copies the first unwritten bytes into `buffer` (a TLS write's staging area) without
    /// consuming them; returns how many.
    public func copyFront(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let target = buffer.baseAddress else { return 0 }
        var copied = 0
        var i = head
        while copied < buffer.count, i < segments.count {
            let s = segments[i]
            let n = min(buffer.count - copied, s.count)
            let base = s.base ?? UnsafeRawPointer(store)
            (target + copied).copyMemory(from: base + s.start, byteCount: n)
            copied += n
            i += 1
        }
        return copied
    }

    /// `n` bytes were written: drops them; once everything is written the batch is empty and
    /// its stores are reused from the start (the payload arrays are released).
    public func consume(_ n: Int) {
        precondition(n >= 0 && n <= count)
        var left = n
        while left > 0 {
            let first = segments[head].count
            if left < first {
                segments[head].start += left
                segments[head].count -= left
                break
            }
            left -= first
            head += 1
        }
        count -= n
        if count == 0 { reset() }
    }

    /// Drops everything unwritten (the connection is closing).
    public func removeAll() {
        count = 0
        reset()
    }

    private func reset() {
        segments.removeAll(keepingCapacity: true)
        owners.removeAll(keepingCapacity: true)
        head = 0
        storeUsed = 0
    }

    private func growStore(_ needed: Int) {
        var capacity = storeCapacity
        while capacity < needed { capacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        grown.copyMemory(from: store, byteCount: storeUsed)
        store.deallocate()
        store = grown
        storeCapacity = capacity
    }
}
