import SluiceModel

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
public enum HTTP1Parser {
    /// Parses a request head from `bytes` into `head`.
    ///
    /// Resets `head` and reuses the capacity of `head.headers` (`removeAll(keepingCapacity: true)`), so
    /// the common path does not allocate. Leading empty lines (CRLF) are skipped (RFC 9112 section 2.2)
    /// and counted in `headLength`. Bytes after `headLength` (a body, a pipelined request) are ignored.
    /// Errors are reported as soon as the bytes so far make them certain, even before the head ends.
    public static func parseRequestHead(
        _ bytes: UnsafeRawBufferPointer, into head: inout RequestHead, limits: Limits = .default
    ) -> HeadResult {
        head.reset()
        let scanner = HeadScanner(bytes: bytes, maxHeadBytes: limits.maxHeadBytes)
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
    public static func parseResponseHead(
        _ bytes: UnsafeRawBufferPointer, requestMethodIsHEAD: Bool, into head: inout ResponseHead,
        limits: Limits = .default
    ) -> HeadResult {
        head.reset()
        let scanner = HeadScanner(bytes: bytes, maxHeadBytes: limits.maxHeadBytes)
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
        _ scanner: HeadScanner, into head: inout RequestHead, limits: Limits
    ) throws(ParseError) -> Bool {
        guard let lineEnd = try requestLine(scanner, into: &head, limits: limits) else { return false }
        var facts = HeaderFacts()
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
        _ scanner: HeadScanner, into head: inout RequestHead, limits: Limits
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
        i = ByteWords.skip(bytes, from: i, end: scanEnd, stops: ByteWords.targetStops)
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
        _ scanner: HeadScanner, requestMethodIsHEAD: Bool, into head: inout ResponseHead, limits: Limits
    ) throws(ParseError) -> Bool {
        guard let lineEnd = try statusLine(scanner, into: &head) else { return false }
        var facts = HeaderFacts()
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
        _ scanner: HeadScanner, into head: inout ResponseHead
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
            i = ByteWords.skip(bytes, from: i, end: end, stops: ByteWords.valueStops)
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
