import SluiceModel

/// Incremental front end of `HTTP1Parser.parseRequestHead` for a head that arrives in pieces.
///
/// The parser scans from the first byte on every call, so calling it after each read would cost
/// O(n²) for a head trickled one byte per read (a 60 KiB head: 1.8 G byte visits). The reader looks
/// at each new byte once, tracking line ends, and runs the full parse only when its answer can
/// change: when the request line ends (early 400/414/505), when a line ends in a bare LF (400),
/// when the empty line that ends the head arrives, when the request line outgrows the target
/// limit or the head the head limit, and otherwise whenever the bytes have doubled since the last
/// parse (so any other error is still found early). Each trigger fires a bounded number of times,
/// and the doubling ones sum to at most 2n, so a head costs O(n) whatever the read sizes.
///
/// The caller passes the whole head received so far from the same first byte on each call, and
/// calls `reset()` before the next message (after `.complete` or `.error`). Pure value state.
public struct RequestHeadReader: Sendable {
    /// Bytes already looked at.
    private var scanned = 0
    /// Whether the line being read has a byte other than CR.
    private var lineHasContent = false
    /// Whether a non-empty line (the request line) has ended.
    private var sawLine = false
    /// The request line is complete; its one parse is done.
    private var requestLineDone = false
    private var targetLimitParsed = false
    private var headLimitParsed = false
    /// Parse again once this many bytes are buffered.
    private var nextParseAt = 0
    /// Bytes looked at by the scan and by the full parses since the last reset: the reader's work,
    /// for tests that bound it.
    public private(set) var work = 0

    public init() {}

    /// Forgets the previous message.
    public mutating func reset() { self = RequestHeadReader() }

    /// Parses `bytes` (the head so far) into `head` when it may be decided, else `.needMore`.
    public mutating func parse(
        _ bytes: UnsafeRawBufferPointer, into head: inout RequestHead, limits: Limits = .default
    ) -> HeadResult {
        let n = bytes.count
        if n < scanned { reset() }
        // The common case, a whole head in the first read, costs one parse and no scan.
        var parsedNow = false
        if scanned == 0 && n > 0 {
            nextParseAt = max(n &* 2, 64)
            work &+= min(n, limits.maxHeadBytes)
            let result = HTTP1Parser.parseRequestHead(bytes, into: &head, limits: limits)
            if result != .needMore { return result }
            parsedNow = true
        }
        var trigger = false
        var i = scanned
        while i < n {
            let c = bytes[i]
            if c == ASCII.lf {
                if lineHasContent {
                    if !sawLine { trigger = true }
                    sawLine = true
                    if i == 0 || bytes[i &- 1] != ASCII.cr { trigger = true }
                } else if sawLine {
                    trigger = true  // the empty line ending the head
                } else if i == 0 || bytes[i &- 1] != ASCII.cr {
                    trigger = true  // a bare LF among leading empty lines
                }
                lineHasContent = false
            } else if c != ASCII.cr {
                lineHasContent = true
            }
            i &+= 1
        }
        work &+= n &- scanned
        scanned = n
        if !sawLine && !targetLimitParsed && n > limits.maxTargetBytes {
            targetLimitParsed = true
            trigger = true
        }
        if !headLimitParsed && n > limits.maxHeadBytes {
            headLimitParsed = true
            trigger = true
        }
        if n >= nextParseAt { trigger = true }
        guard trigger, !parsedNow else { return .needMore }
        nextParseAt = max(n &* 2, 64)
        work &+= min(n, limits.maxHeadBytes)
        return HTTP1Parser.parseRequestHead(bytes, into: &head, limits: limits)
    }
}
