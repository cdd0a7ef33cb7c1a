import SluiceModel

/// Bounds-checked scanning of the parts common to request and response heads: line endings, the
/// HTTP-version and the field section.
///
/// Every read is `bytes[i]` with `i < end` checked first, and `end <= bytes.count`, so no input can
/// read out of bounds. `end` is the scan window (the received bytes capped at `Limits.maxHeadBytes`);
/// functions return nil when they need bytes beyond it and throw when the bytes can never be valid.
struct HeadScanner {
    let bytes: UnsafeRawBufferPointer
    let end: Int

    /// Scans `bytes` up to `min(bytes.count, maxHeadBytes)`.
    init(bytes: UnsafeRawBufferPointer, maxHeadBytes: Int) {
        self.bytes = bytes
        self.end = min(bytes.count, max(maxHeadBytes, 0))
    }

    /// Expects CRLF at `index`; returns the index after it. A bare LF or a CR followed by anything but
    /// LF is rejected: strict CRLF, as Envoy's codecs do in strict mode (RFC 9112 section 2.2 lets a
    /// recipient accept bare LF; a proxy that disagrees with its upstream about line ends can be
    /// smuggled through, so it does not).
    @inline(__always)
    func crlf(at index: Int) throws(ParseError) -> Int? {
        guard index < end else { return nil }
        guard bytes[index] == ASCII.cr else { throw .badLineEnding }
        guard index &+ 1 < end else { return nil }
        guard bytes[index &+ 1] == ASCII.lf else { throw .badLineEnding }
        return index &+ 2
    }

    /// Parses `HTTP/DIGIT.DIGIT` at `index` (RFC 9112 section 2.3; the name is case-sensitive).
    /// Returns the major and minor digits and the index after them.
    func version(at index: Int) throws(ParseError) -> (major: UInt8, minor: UInt8, next: Int)? {
        // The two versions sent in practice, as one word; anything else takes the byte path.
        if end &- index >= 8 {
            let word = ByteWords.load(bytes, index)
            if word == Self.http11 { return (1, 1, index &+ 8) }
            if word == Self.http10 { return (1, 0, index &+ 8) }
        }
        let name: StaticString = "HTTP/"
        let nameStart = name.utf8Start
        var i = index
        for k in 0..<name.utf8CodeUnitCount {
            guard i < end else { return nil }
            guard bytes[i] == nameStart[k] else { throw .badVersion }
            i &+= 1
        }
        guard let major = try digit(at: i) else { return nil }
        guard i &+ 1 < end else { return nil }
        guard bytes[i &+ 1] == 0x2E else { throw .badVersion }
        guard let minor = try digit(at: i &+ 2) else { return nil }
        return (major, minor, i &+ 3)
    }

    /// `HTTP/1.1` and `HTTP/1.0` as little-endian words (`ByteWords.load`).
    static let http11: UInt64 = 0x312E_312F_5054_5448
    static let http10: UInt64 = 0x302E_312F_5054_5448

    /// The decimal digit at `index`, nil when `index` is past the window; a non-digit is a bad version.
    @inline(__always)
    private func digit(at index: Int) throws(ParseError) -> UInt8? {
        guard index < end else { return nil }
        let c = bytes[index]
        guard c >= 0x30, c <= 0x39 else { throw .badVersion }
        return c &- 0x30
    }

    /// The field lines after the start line ending at `lineEnd`, at most `limits.maxHeaderCount`
    /// (`fields(from:maxHeaderCount:headers:facts:)`): the end of the head, or nil for more bytes.
    @inline(__always)
    func fields(
        after lineEnd: Int, _ limits: Limits, _ headers: inout [HeaderField], _ facts: inout HeaderFacts
    ) throws(ParseError) -> Int? {
        try fields(from: lineEnd, maxHeaderCount: limits.maxHeaderCount, headers: &headers, facts: &facts)
    }

    /// Parses field lines from `start` through the empty line that ends the head (RFC 9112 section 5)
    /// and returns the head length. Appends each field to `headers` and feeds it to `facts`.
    ///
    /// Rejected: obs-fold (a line starting with SP/HTAB), whitespace before the colon, an empty or
    /// non-token name, NUL or other controls except HTAB in values, bare LF, more than
    /// `maxHeaderCount` fields.
    func fields(
        from start: Int, maxHeaderCount: Int, headers: inout [HeaderField], facts: inout HeaderFacts
    ) throws(ParseError) -> Int? {
        var i = start
        while true {
            guard i < end else { return nil }
            let first = bytes[i]
            if first == ASCII.cr { return try crlf(at: i) }
            if ASCII.isWhitespace(first) { throw .obsFold }

            let nameStart = i
            i = ByteWords.skip(bytes, from: i, end: end, stops: ByteWords.nameStops)
            while i < end, ASCII.isToken(bytes[i]) { i &+= 1 }
            guard i < end else { return nil }
            guard bytes[i] == ASCII.colon else {
                if ASCII.isWhitespace(bytes[i]) && i > nameStart { throw .spaceBeforeColon }
                if bytes[i] == ASCII.lf { throw .badLineEnding }
                throw .badFieldName
            }
            guard i > nameStart else { throw .badFieldName }
            let name = nameStart..<i
            i &+= 1

            while i < end, ASCII.isWhitespace(bytes[i]) { i &+= 1 }
            let valueStart = i
            // The value runs to the first byte that is not field content; OWS before it is trimmed.
            i = ByteWords.skip(bytes, from: i, end: end, stops: ByteWords.valueStops)
            while i < end, ASCII.isFieldContent(bytes[i]) { i &+= 1 }
            guard i < end else { return nil }
            guard bytes[i] == ASCII.cr else {
                throw bytes[i] == ASCII.lf ? .badLineEnding : .badFieldValue
            }
            var valueEnd = i
            while valueEnd > valueStart, ASCII.isWhitespace(bytes[valueEnd &- 1]) { valueEnd &-= 1 }
            guard let next = try crlf(at: i) else { return nil }
            i = next

            guard headers.count < maxHeaderCount else { throw .tooManyHeaders }
            let value = valueStart..<valueEnd
            headers.append(HeaderField(name: name, value: value))
            try facts.observe(name: name, value: value, in: bytes)
        }
    }
}
