import HTTP1

/// Where the current message (head and body) ends in the buffer that holds it from its first
/// byte: the one bookkeeping the request forwarder and the response relay share. Bytes leave the
/// front of the buffer (`consumed`); `available` says how many of the buffered bytes still belong
/// to the message, scanning a chunked body incrementally so each byte is scanned once.
struct MessageFraming {
    private enum Kind: UInt8 {
        /// `count`: bytes of the message still to come.
        case length
        /// `count`: bytes from the buffer's front already scanned; `done`: the last chunk ends
        /// `count` bytes in.
        case chunked
        /// A response body that ends with the upstream's connection.
        case untilClose
    }

    // Plain fields rather than an enum with payloads: every field is trivial (no reference
    // inside, `ChunkedScanner` included), so `consumed` is one subtraction and an assignment a
    // plain copy; the enum with the scanner as payload made each an outlined copy and destroy
    // (docs/performance.md, s23-own).
    private var kind: Kind
    private var count: Int
    private var done = false
    private var scanner: ChunkedScanner

    /// A message with nothing left (before the first one).
    init() {
        kind = .length
        count = 0
        scanner = ChunkedScanner()
    }

    /// The message whose head of `headLength` bytes declared `framing`. A request body never
    /// runs until close (RFC 9112 6.3: without a length a request has no body). Nil when
    /// Content-Length does not fit in an Int together with the head.
    init?(_ framing: BodyFraming, headLength: Int, isRequest: Bool, limits: Limits) {
        // Unused unless chunked; built from `limits` to keep `Limits.default`'s lazy global off
        // the request path.
        scanner = ChunkedScanner(limits: limits)
        switch framing {
        case .none:
            kind = .length
            count = headLength
        case .contentLength(let n):
            let (total, overflow) = headLength.addingReportingOverflow(n)
            guard !overflow else { return nil }
            kind = .length
            count = total
        case .chunked:
            kind = .chunked
            count = headLength
        case .untilClose:
            kind = isRequest ? .length : .untilClose
            count = headLength
        }
    }

    /// How many bytes at the front of `bytes` belong to the message; -1 when the chunked body is
    /// malformed.
    mutating func available(in bytes: UnsafeRawBufferPointer) -> Int {
        let buffered = bytes.count
        switch kind {
        case .length:
            return min(buffered, count)
        case .untilClose:
            return buffered
        case .chunked:
            if done || count >= buffered { return min(count, buffered) }
            switch scanner.scan(UnsafeRawBufferPointer(rebasing: bytes[count...])) {
            case .needMore:
                count = buffered
                return buffered
            case .done(let k):
                count += k
                done = true
                return count
            case .error:
                return -1
            }
        }
    }

    /// `n` bytes of the message left the front of the buffer.
    mutating func consumed(_ n: Int) {
        if kind != .untilClose { count -= n }
    }

    /// Body bytes that follow the buffered ones directly and may be moved socket to socket
    /// without entering the buffer (splice(2), docs/architecture.md "Bodies by splice"): the rest
    /// of a Content-Length body, the rest of the current chunk's data (size lines, the CRLF after
    /// the data and trailers are read into the buffer and scanned), anything of an until-close
    /// body; 0 when the next bytes are framing. Only meaningful once no byte of the message is
    /// buffered (`available` returned 0): then `consumed`/`spliced` keep both counts in step.
    var spliceable: Int {
        switch kind {
        case .length: return max(0, count)
        case .untilClose: return Int.max
        case .chunked: return done || count != 0 ? 0 : scanner.dataRemaining
        }
    }

    /// Body data is owed right after the bytes spliced so far (a Content-Length body or the
    /// current chunk's data not yet complete): a drain of the pipe may tell the kernel more
    /// follows (SPLICE_F_MORE), because the source still owes these bytes. False for an
    /// until-close body (it may pause forever; every drain goes out at once) and when framing
    /// (a chunk-size line, the CRLF, the last chunk) comes next: that goes out by a plain write,
    /// which sends anything held back.
    var dataFollowsPipe: Bool {
        switch kind {
        case .length: return count > 0
        case .untilClose: return false
        case .chunked: return !done && count == 0 && scanner.dataRemaining > 0
        }
    }

    /// `n` body bytes (at most `spliceable`) went from socket to socket without the buffer.
    mutating func spliced(_ n: Int) {
        switch kind {
        case .length: count -= n
        case .untilClose: break
        case .chunked: scanner.skipData(n)
        }
    }

    /// Every byte of the message left the buffer. `closedAndDrained`: for an until-close body,
    /// the connection ended and nothing of it is buffered.
    func isComplete(closedAndDrained: Bool = false) -> Bool {
        switch kind {
        case .length: return count == 0
        case .untilClose: return closedAndDrained
        case .chunked: return done && count == 0
        }
    }

    /// Every byte of the message was read (it may still be buffered).
    var isFullyRead: Bool {
        switch kind {
        case .length: return count == 0
        case .chunked: return done
        case .untilClose: return false
        }
    }
}
