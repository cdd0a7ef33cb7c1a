import SluiceModel

@testable import HTTP1

// The head parser as it was before the word-at-a-time scan (main d6ea330: `HeadScanner`,
// `HeaderFacts` and `HTTP1Parser`, renamed, byte loops only), kept as the reference the current
// parser is held equal to (`HeadScannerTests.testTheParserDecidesAsTheByteLoopParser`, and the
// fuzz targets FuzzHTTP1Request and FuzzHTTP1Response, which compile this file too).

/// Bounds-checked scanning of the parts common to request and response heads: line endings, the
/// HTTP-version and the field section.
///
/// Every read is `bytes[i]` with `i < end` checked first, and `end <= bytes.count`, so no input can
/// read out of bounds. `end` is the scan window (the received bytes capped at `Limits.maxHeadBytes`);
/// functions return nil when they need bytes beyond it and throw when the bytes can never be valid.
struct ByteLoopScanner {
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
        after lineEnd: Int, _ limits: Limits, _ headers: inout [HeaderField], _ facts: inout ByteLoopFacts
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
        from start: Int, maxHeaderCount: Int, headers: inout [HeaderField], facts: inout ByteLoopFacts
    ) throws(ParseError) -> Int? {
        var i = start
        while true {
            guard i < end else { return nil }
            let first = bytes[i]
            if first == ASCII.cr { return try crlf(at: i) }
            if ASCII.isWhitespace(first) { throw .obsFold }

            let nameStart = i
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
            var valueEnd = i
            while i < end {
                let c = bytes[i]
                if c > ASCII.sp && c != 0x7F {
                    i &+= 1
                    valueEnd = i
                } else if ASCII.isWhitespace(c) {
                    i &+= 1
                } else {
                    break
                }
            }
            guard i < end else { return nil }
            guard bytes[i] == ASCII.cr else {
                throw bytes[i] == ASCII.lf ? .badLineEnding : .badFieldValue
            }
            guard let next = try crlf(at: i) else { return nil }
            i = next

            guard headers.count < maxHeaderCount else { throw .tooManyHeaders }
            let value = valueStart..<valueEnd
            headers.append(HeaderField(name: name, value: value))
            try facts.observe(name: name, value: value, in: bytes)
        }
    }
}

/// What the parser learns from the fields that decide framing and connection handling, gathered in
/// the same pass that finds the field lines. Requests and responses share it; each applies its own
/// framing rules at the end (`requestFraming`, `responseFraming`).
struct ByteLoopFacts {
    /// The agreed Content-Length, once one was seen.
    var contentLength: Int?
    /// Content-Length elements seen across all fields (2 for `3, 3` or for two fields).
    var contentLengthElements = 0
    /// Whether any Transfer-Encoding field was seen.
    var hasTransferEncoding = false
    /// Number of `chunked` codings across all Transfer-Encoding fields.
    var chunkedCount = 0
    /// Whether the last non-empty coding seen was `chunked`.
    var lastCodingIsChunked = false
    /// Whether a coding other than `chunked` was seen.
    var hasOtherCoding = false
    /// Connection tokens (RFC 9110 section 7.6.1).
    var connectionClose = false
    var connectionKeepAlive = false
    var connectionUpgrade = false
    var connectionHTTP2Settings = false
    /// The first Host value.
    var host: Range<Int>?
    /// The first Upgrade value and whether any Upgrade field lists `h2c`.
    var upgrade: Range<Int>?
    var upgradeListsH2C = false
    var http2SettingsCount = 0
    var expectContinue = false

    /// Records one field line. Throws at once for errors a later field cannot repair.
    @inline(__always)
    mutating func observe(
        name: Range<Int>, value: Range<Int>, in bytes: UnsafeRawBufferPointer
    ) throws(ParseError) {
        // Dispatch on length first: most fields have none of these lengths and cost one compare.
        switch name.count {
        case 4:
            guard ASCII.equalsIgnoringCase(bytes, name, "host") else { return }
            guard host == nil else { throw .duplicateHost }
            host = value
        case 6:
            if ASCII.equalsIgnoringCase(bytes, name, "expect"),
                ASCII.equalsIgnoringCase(bytes, value, "100-continue")
            {
                expectContinue = true
            }
        case 7:
            guard ASCII.equalsIgnoringCase(bytes, name, "upgrade") else { return }
            if upgrade == nil { upgrade = value }
            var elements = ListElements(bytes, value)
            while let element = elements.next() {
                if ASCII.equalsIgnoringCase(bytes, element, "h2c") { upgradeListsH2C = true }
            }
        case 10:
            if ASCII.equalsIgnoringCase(bytes, name, "connection") { observeConnection(value, in: bytes) }
        case 14:
            if ASCII.equalsIgnoringCase(bytes, name, "content-length") {
                try observeContentLength(value, in: bytes)
            } else if ASCII.equalsIgnoringCase(bytes, name, "http2-settings") {
                http2SettingsCount &+= 1
            }
        case 17:
            if ASCII.equalsIgnoringCase(bytes, name, "transfer-encoding") {
                observeTransferEncoding(value, in: bytes)
            }
        default:
            return
        }
    }

    private mutating func observeConnection(_ value: Range<Int>, in bytes: UnsafeRawBufferPointer) {
        var elements = ListElements(bytes, value)
        while let token = elements.next() {
            switch token.count {
            case 5: if ASCII.equalsIgnoringCase(bytes, token, "close") { connectionClose = true }
            case 7: if ASCII.equalsIgnoringCase(bytes, token, "upgrade") { connectionUpgrade = true }
            case 10: if ASCII.equalsIgnoringCase(bytes, token, "keep-alive") { connectionKeepAlive = true }
            case 14:
                if ASCII.equalsIgnoringCase(bytes, token, "http2-settings") { connectionHTTP2Settings = true }
            default: break
            }
        }
    }

    /// Content-Length is 1*DIGIT; a list of identical values ("5, 5") and identical repeated fields
    /// are accepted as one value (RFC 9110 section 8.6); anything else is rejected.
    private mutating func observeContentLength(
        _ value: Range<Int>, in bytes: UnsafeRawBufferPointer
    ) throws(ParseError) {
        var elements = ListElements(bytes, value)
        while let element = elements.next() {
            guard !element.isEmpty else { throw .badContentLength }
            var length = 0
            for index in element {
                let c = bytes[index]
                guard c >= 0x30, c <= 0x39 else { throw .badContentLength }
                let (times10, overflow1) = length.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int(c &- 0x30))
                guard !overflow1, !overflow2 else { throw .badContentLength }
                length = sum
            }
            if let previous = contentLength, previous != length { throw .conflictingContentLength }
            contentLength = length
            contentLengthElements &+= 1
        }
    }

    /// Transfer-Encoding fields form one list across all field lines (RFC 9110 section 5.3).
    private mutating func observeTransferEncoding(_ value: Range<Int>, in bytes: UnsafeRawBufferPointer) {
        hasTransferEncoding = true
        var elements = ListElements(bytes, value)
        while let coding = elements.next() {
            guard !coding.isEmpty else { continue }
            if ASCII.equalsIgnoringCase(bytes, coding, "chunked") {
                chunkedCount &+= 1
                lastCodingIsChunked = true
            } else {
                hasOtherCoding = true
                lastCodingIsChunked = false
            }
        }
    }

    /// Whether the connection persists after this message (RFC 9112 section 9.3).
    func keepAlive(versionMinor: UInt8) -> Bool {
        versionMinor >= 1 ? !connectionClose : (connectionKeepAlive && !connectionClose)
    }

    /// Request framing (RFC 9112 section 6.3). Transfer-Encoding must be exactly `chunked`: any
    /// other coding is 501, as Envoy does; TE with Content-Length or in HTTP/1.0 is 400.
    func requestFraming(versionMinor: UInt8) throws(ParseError) -> BodyFraming {
        if hasTransferEncoding {
            try checkTransferEncoding(versionMinor: versionMinor)
            guard !hasOtherCoding else { throw .unsupportedTransferEncoding }
            return .chunked
        }
        if let contentLength { return .contentLength(contentLength) }
        return .none
    }

    /// Response framing before the status/HEAD override: a final `chunked` coding is chunked, any other
    /// Transfer-Encoding reads until close (RFC 9112 section 6.3 rule 4), then Content-Length.
    func responseFraming(versionMinor: UInt8) throws(ParseError) -> BodyFraming {
        if hasTransferEncoding {
            try checkTransferEncoding(versionMinor: versionMinor)
            return lastCodingIsChunked ? .chunked : .untilClose
        }
        if let contentLength { return .contentLength(contentLength) }
        return .untilClose
    }

    private func checkTransferEncoding(versionMinor: UInt8) throws(ParseError) {
        // Both framings at once is the classic smuggling vector: reject rather than pick one.
        guard contentLength == nil else { throw .transferEncodingWithContentLength }
        guard versionMinor >= 1 else { throw .transferEncodingInHTTP10 }
        guard chunkedCount + (hasOtherCoding ? 1 : 0) > 0 else { throw .badTransferEncoding }
        // chunked MUST NOT be applied twice, and nothing may follow it except in responses (handled
        // by lastCodingIsChunked); a repeated chunked is always malformed.
        guard chunkedCount <= 1 else { throw .badTransferEncoding }
    }

    /// Whether this is an h2c upgrade request (RFC 7540 section 3.2): `Upgrade: h2c`, `Connection`
    /// listing both `Upgrade` and `HTTP2-Settings`, and exactly one HTTP2-Settings field.
    var isH2CUpgrade: Bool {
        upgradeListsH2C && connectionUpgrade && connectionHTTP2Settings && http2SettingsCount == 1
    }
}

/// Entry points of the HTTP/1.1 head parser (RFC 9112), strict in the way a security proxy must be
/// (picohttpparser's shape, Envoy's strictness): it only finds boundaries and fields and never copies.
///
/// Deliberate strictness (each a smuggling or desync defence): line ends must be CRLF (a bare LF is
/// 400, unlike RFC 9112 section 2.2's "MAY accept"); obs-fold is 400; whitespace before a colon is
/// 400; the request-target must be visible ASCII (controls, spaces, DEL and bytes >= 0x80 are 400);
/// only HTTP/1.0 and HTTP/1.1 are accepted (other well-formed versions are 505).
///
/// Pure and thread-agnostic: no state between calls. A call scans from the first byte each time, so
/// the caller passes the whole head received so far (starting at the message's first byte) and calls
/// again on `.needMore`; each call costs one pass over at most `Limits.maxHeadBytes` bytes.
enum ByteLoopParser {
    /// Parses a request head from `bytes` into `head`.
    ///
    /// Resets `head` and reuses the capacity of `head.headers` (`removeAll(keepingCapacity: true)`), so
    /// the common path does not allocate. Leading empty lines (CRLF) are skipped (RFC 9112 section 2.2)
    /// and counted in `headLength`. Bytes after `headLength` (a body, a pipelined request) are ignored.
    /// Errors are reported as soon as the bytes so far make them certain, even before the head ends.
    static func parseRequestHead(
        _ bytes: UnsafeRawBufferPointer, into head: inout RequestHead, limits: Limits = .default
    ) -> HeadResult {
        head.reset()
        let scanner = ByteLoopScanner(bytes: bytes, maxHeadBytes: limits.maxHeadBytes)
        do {
            guard try parseRequest(scanner, into: &head, limits: limits) else {
                return bytes.count > scanner.end ? .error(.headTooLarge) : .needMore
            }
            return .complete
        } catch {
            return .error(error)
        }
    }

    /// Parses a response head from `bytes` into `head`.
    ///
    /// `requestMethodIsHEAD` says whether the request this answers was HEAD: then, as for 1xx, 204 and
    /// 304, the framing is `.none` whatever the fields say. Without Content-Length or a final chunked
    /// coding the body runs until close and `keepAlive` is false. Resets and reuses `head` like
    /// `parseRequestHead`.
    static func parseResponseHead(
        _ bytes: UnsafeRawBufferPointer, requestMethodIsHEAD: Bool, into head: inout ResponseHead,
        limits: Limits = .default
    ) -> HeadResult {
        head.reset()
        let scanner = ByteLoopScanner(bytes: bytes, maxHeadBytes: limits.maxHeadBytes)
        do {
            guard try parseResponse(scanner, requestMethodIsHEAD: requestMethodIsHEAD, into: &head, limits: limits)
            else {
                return bytes.count > scanner.end ? .error(.headTooLarge) : .needMore
            }
            return .complete
        } catch {
            return .error(error)
        }
    }

    // MARK: Requests

    /// Returns false when more bytes are needed.
    private static func parseRequest(
        _ scanner: ByteLoopScanner, into head: inout RequestHead, limits: Limits
    ) throws(ParseError) -> Bool {
        guard let lineEnd = try requestLine(scanner, into: &head, limits: limits) else { return false }
        var facts = ByteLoopFacts()
        guard let headEnd = try scanner.fields(after: lineEnd, limits, &head.headers, &facts) else { return false }

        let minor = head.versionMinor
        // RFC 9112 section 3.2: a server MUST respond 400 to an HTTP/1.1 request without Host.
        if minor >= 1 && facts.host == nil { throw .missingHost }
        head.headLength = headEnd
        head.framing = try facts.requestFraming(versionMinor: minor)
        head.keepAlive = facts.keepAlive(versionMinor: minor)
        head.host = facts.host
        head.contentLengthRepeated = facts.contentLengthElements > 1
        head.expectContinue = facts.expectContinue
        head.upgradeH2C = minor >= 1 && facts.isH2CUpgrade
        head.upgrade = (minor >= 1 && facts.connectionUpgrade) ? facts.upgrade : nil
        return true
    }

    /// Parses `[*CRLF] method SP request-target SP HTTP-version CRLF`; returns the index after it.
    private static func requestLine(
        _ scanner: ByteLoopScanner, into head: inout RequestHead, limits: Limits
    ) throws(ParseError) -> Int? {
        let bytes = scanner.bytes
        let end = scanner.end
        var i = 0
        while i < end, bytes[i] == ASCII.cr {
            guard let next = try scanner.crlf(at: i) else { return nil }
            i = next
        }

        let methodStart = i
        while i < end, ASCII.isToken(bytes[i]) { i &+= 1 }
        guard i < end else { return nil }
        guard i > methodStart else { throw bytes[i] == ASCII.lf ? .badLineEnding : .badMethod }
        guard bytes[i] == ASCII.sp else { throw .badMethod }
        head.method = methodStart..<i
        i &+= 1

        // Stop scanning one byte past the target limit so an endless target is caught early (414).
        let targetStart = i
        let maxTarget = max(limits.maxTargetBytes, 0)
        let scanEnd = end &- targetStart > maxTarget ? targetStart &+ maxTarget &+ 1 : end
        while i < scanEnd {
            let c = bytes[i]
            guard c > ASCII.sp && c < 0x7F else { break }
            i &+= 1
        }
        if i &- targetStart > maxTarget { throw .targetTooLong }
        guard i < end else { return nil }
        guard bytes[i] == ASCII.sp else {
            // A CR or LF here is an HTTP/0.9-style line without a version.
            throw (bytes[i] == ASCII.cr || bytes[i] == ASCII.lf) ? .badRequestLine : .badTarget
        }
        guard i > targetStart else { throw .badTarget }
        head.target = targetStart..<i
        i &+= 1

        guard let version = try scanner.version(at: i) else { return nil }
        guard let lineEnd = try scanner.crlf(at: version.next) else { return nil }
        guard version.major == 1, version.minor <= 1 else { throw .unsupportedVersion }
        head.versionMinor = version.minor
        return lineEnd
    }

    // MARK: Responses

    /// Returns false when more bytes are needed.
    private static func parseResponse(
        _ scanner: ByteLoopScanner, requestMethodIsHEAD: Bool, into head: inout ResponseHead, limits: Limits
    ) throws(ParseError) -> Bool {
        guard let lineEnd = try statusLine(scanner, into: &head) else { return false }
        var facts = ByteLoopFacts()
        guard let headEnd = try scanner.fields(after: lineEnd, limits, &head.headers, &facts) else { return false }

        let minor = head.versionMinor
        head.headLength = headEnd
        // Validate the fields even when the status overrides them, so a malformed upstream is caught.
        var framing = try facts.responseFraming(versionMinor: minor)
        let status = head.status
        // RFC 9112 section 6.3 rules 1: HEAD, 1xx, 204 and 304 never have a body.
        if requestMethodIsHEAD || status < 200 || status == 204 || status == 304 { framing = .none }
        head.framing = framing
        head.keepAlive = framing == .untilClose ? false : facts.keepAlive(versionMinor: minor)
        return true
    }

    /// Parses `HTTP-version SP 3DIGIT [SP reason-phrase] CRLF`; returns the index after it.
    /// A missing reason (`HTTP/1.1 200\r\n`) is accepted, as most clients do.
    private static func statusLine(
        _ scanner: ByteLoopScanner, into head: inout ResponseHead
    ) throws(ParseError) -> Int? {
        let bytes = scanner.bytes
        let end = scanner.end
        guard let version = try scanner.version(at: 0) else { return nil }
        var i = version.next
        guard i < end else { return nil }
        guard bytes[i] == ASCII.sp else { throw .badStatusLine }
        i &+= 1

        var status = 0
        for _ in 0..<3 {
            guard i < end else { return nil }
            let c = bytes[i]
            guard c >= 0x30, c <= 0x39 else { throw .badStatusLine }
            status = status &* 10 &+ Int(c &- 0x30)
            i &+= 1
        }
        guard status >= 100 else { throw .badStatusLine }

        guard i < end else { return nil }
        var reasonStart = i
        if bytes[i] == ASCII.sp {
            i &+= 1
            reasonStart = i
            while i < end, ASCII.isFieldContent(bytes[i]) { i &+= 1 }
            guard i < end else { return nil }
        }
        guard bytes[i] == ASCII.cr else { throw bytes[i] == ASCII.lf ? .badLineEnding : .badStatusLine }
        let reasonEnd = i
        guard let lineEnd = try scanner.crlf(at: i) else { return nil }
        guard version.major == 1, version.minor <= 1 else { throw .unsupportedVersion }
        head.status = status
        head.reason = reasonStart..<reasonEnd
        head.versionMinor = version.minor
        return lineEnd
    }
}
