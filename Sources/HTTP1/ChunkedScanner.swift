import SluiceModel

/// Finds where a chunked body ends (RFC 9112 section 7.1) without changing or copying it, so the
/// proxy can relay the bytes as they arrive.
///
/// Feed it the successive runs of body bytes (the first run starts right after the head). It keeps
/// its place across runs, so any split point gives the same answer. Chunk data is skipped in O(1);
/// only size lines and trailers are read byte by byte. Owned by one connection; not thread-safe.
public struct ChunkedScanner: Sendable {
    /// The outcome of scanning one run of bytes.
    public enum Result: Equatable, Sendable {
        /// Every byte of the run belongs to the body and the body continues.
        case needMore
        /// The body ends after this many bytes of the run (last-chunk, trailers and the final CRLF
        /// included); any bytes after them belong to the next message.
        case done(Int)
        /// The body is malformed; the scanner stays failed.
        case error(ParseError)
    }

    private enum State: UInt8, Sendable {
        case size, sizeSpace, extensions, sizeLF, data, dataCR, dataLF
        case trailerStart, trailerName, trailerValue, trailerLF, finalLF, done, failed
    }

    /// `Limits.maxChunkLineBytes` and `maxTrailerBytes`: the two limits it applies, kept alone so
    /// the scanner stays small (the proxy keeps one per message direction in each connection).
    private let maxChunkLineBytes: Int
    private let maxTrailerBytes: Int
    private var state = State.size
    /// Hex value of the size being read, then the chunk bytes still to skip.
    private var remaining = 0
    private var sizeDigits = 0
    private var lineBytes = 0
    private var trailerBytes = 0
    /// The error that failed the scan, as its index for `failure(_:)`: a `ParseError` holds a
    /// `String`, which made the scanner (and the proxy's `MessageFraming` around it) a value with
    /// a reference inside, copied and destroyed through outlined calls at every step of every
    /// message, chunked or not (docs/performance.md, s23-own).
    private var failureIndex: UInt8 = 0

    /// A scanner positioned at the start of a chunked body.
    public init(limits: Limits = .default) {
        maxChunkLineBytes = limits.maxChunkLineBytes
        maxTrailerBytes = limits.maxTrailerBytes
    }

    private init(maxChunkLineBytes: Int, maxTrailerBytes: Int) {
        self.maxChunkLineBytes = maxChunkLineBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    /// Whether the whole body, trailers included, has been seen.
    public var isDone: Bool { state == .done }

    /// Chunk data bytes that come next, before any framing byte: what a caller may move without
    /// looking at it (the proxy splices it socket to socket). 0 outside chunk data.
    public var dataRemaining: Int { state == .data ? remaining : 0 }

    /// `n` bytes of chunk data (at most `dataRemaining`) went by without being scanned.
    public mutating func skipData(_ n: Int) {
        guard state == .data, n > 0 else { return }
        let k = min(n, remaining)
        remaining &-= k
        if remaining == 0 { state = .dataCR }
    }

    /// Positions the scanner at the start of a new chunked body.
    public mutating func reset() {
        self = ChunkedScanner(maxChunkLineBytes: maxChunkLineBytes, maxTrailerBytes: maxTrailerBytes)
    }

    /// Scans the next run of body bytes. After `.done`, further calls return `.done(0)`; after
    /// `.error`, they return the same error.
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Result {
        switch state {
        case .done: return .done(0)
        case .failed: return .error(Self.failure(failureIndex))
        default: break
        }
        let count = bytes.count
        var i = 0
        while i < count {
            if state == .data {
                // Skip chunk data without reading it.
                let available = count &- i
                if remaining >= available {
                    remaining &-= available
                    if remaining == 0 { state = .dataCR }
                    return .needMore
                }
                i &+= remaining
                remaining = 0
                state = .dataCR
                continue
            }
            do {
                try step(bytes[i])
            } catch {
                failureIndex = Self.failureIndex(error)
                state = .failed
                return .error(error)
            }
            i &+= 1
            if state == .done { return .done(i) }
        }
        return .needMore
    }

    /// The errors `step` throws, by `failureIndex` (index 0 also stands for any other).
    private static func failure(_ index: UInt8) -> ParseError {
        switch index {
        case 1: .badLineEnding
        case 2: .badChunkData
        case 3: .chunkLineTooLong
        case 4: .chunkSizeOverflow
        case 5: .badChunkExtension
        case 6: .trailersTooLarge
        case 7: .obsFold
        case 8: .badTrailer
        case 9: .spaceBeforeColon
        default: .badChunkSize
        }
    }

    /// The index of `error` for `failure(_:)`; only on the error path.
    private static func failureIndex(_ error: ParseError) -> UInt8 {
        var index: UInt8 = 1
        while index <= 9 {
            if failure(index) == error { return index }
            index += 1
        }
        return 0
    }

    /// Advances the state machine by one byte of a size line, data delimiter or trailer.
    private mutating func step(_ c: UInt8) throws(ParseError) {
        switch state {
        case .size, .sizeSpace, .extensions:
            try stepSizeLine(c)
        case .sizeLF:
            guard c == ASCII.lf else { throw .badLineEnding }
            if remaining == 0 {
                state = .trailerStart
            } else {
                state = .data
            }
        case .dataCR:
            guard c == ASCII.cr else { throw .badChunkData }
            state = .dataLF
        case .dataLF:
            guard c == ASCII.lf else { throw .badChunkData }
            state = .size
            sizeDigits = 0
            lineBytes = 0
        case .trailerStart, .trailerName, .trailerValue, .trailerLF, .finalLF:
            try stepTrailer(c)
        case .data, .done, .failed:
            // Not reached: `scan` handles these states itself.
            return
        }
    }

    /// `chunk-size [ BWS ";" chunk-ext ] CRLF`. Extensions are not interpreted, only checked for
    /// controls; the whole line is capped by `maxChunkLineBytes`.
    private mutating func stepSizeLine(_ c: UInt8) throws(ParseError) {
        lineBytes &+= 1
        guard lineBytes <= maxChunkLineBytes || c == ASCII.cr else { throw .chunkLineTooLong }
        switch state {
        case .size:
            if let digit = ASCII.hexValue(c) {
                guard remaining <= (Int.max &- digit) >> 4 else { throw .chunkSizeOverflow }
                remaining = remaining << 4 | digit
                sizeDigits &+= 1
                return
            }
            guard sizeDigits > 0 else { throw .badChunkSize }
            if c == ASCII.cr {
                state = .sizeLF
            } else if c == ASCII.semicolon {
                state = .extensions
            } else if ASCII.isWhitespace(c) {
                state = .sizeSpace
            } else {
                throw .badChunkSize
            }
        case .sizeSpace:
            // BWS is only allowed before ";" (RFC 9112 section 7.1.1).
            if c == ASCII.semicolon {
                state = .extensions
            } else if !ASCII.isWhitespace(c) {
                throw .badChunkSize
            }
        default:
            if c == ASCII.cr {
                state = .sizeLF
            } else if !ASCII.isFieldContent(c) {
                // A lone LF or other control in an extension could be read differently upstream.
                throw .badChunkExtension
            }
        }
    }

    /// `*( field-line CRLF ) CRLF` after the last chunk. Field lines follow the head's rules.
    private mutating func stepTrailer(_ c: UInt8) throws(ParseError) {
        trailerBytes &+= 1
        guard trailerBytes <= maxTrailerBytes else { throw .trailersTooLarge }
        switch state {
        case .trailerStart:
            if c == ASCII.cr {
                state = .finalLF
            } else if ASCII.isToken(c) {
                state = .trailerName
            } else {
                throw ASCII.isWhitespace(c) ? .obsFold : .badTrailer
            }
        case .trailerName:
            if c == ASCII.colon {
                state = .trailerValue
            } else if !ASCII.isToken(c) {
                throw ASCII.isWhitespace(c) ? .spaceBeforeColon : .badTrailer
            }
        case .trailerValue:
            if c == ASCII.cr {
                state = .trailerLF
            } else if !ASCII.isFieldContent(c) {
                throw c == ASCII.lf ? .badLineEnding : .badTrailer
            }
        case .trailerLF:
            guard c == ASCII.lf else { throw .badLineEnding }
            state = .trailerStart
        default:
            guard c == ASCII.lf else { throw .badLineEnding }
            state = .done
        }
    }
}
