import SluiceModel

/// What the parser learns from the fields that decide framing and connection handling, gathered in
/// the same pass that finds the field lines. Requests and responses share it; each applies its own
/// framing rules at the end (`requestFraming`, `responseFraming`).
struct HeaderFacts {
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

    /// Records one field line. Throws at once for errors a later field cannot repair. `name` must be
    /// a token and `value` field content, as `HeadScanner` checked them: the names and list
    /// elements are compared a word at a time (`ByteWords.equalsFolded`), which is exact only then.
    @inline(__always)
    mutating func observe(
        name: Range<Int>, value: Range<Int>, in bytes: UnsafeRawBufferPointer
    ) throws(ParseError) {
        // Dispatch on length first: most fields have none of these lengths and cost one compare.
        switch name.count {
        case 4:
            guard ByteWords.equalsFolded(bytes, name, "host") else { return }
            guard host == nil else { throw .duplicateHost }
            host = value
        case 6:
            if ByteWords.equalsFolded(bytes, name, "expect"),
                ASCII.equalsIgnoringCase(bytes, value, "100-continue")
            {
                expectContinue = true
            }
        case 7:
            guard ByteWords.equalsFolded(bytes, name, "upgrade") else { return }
            if upgrade == nil { upgrade = value }
            var elements = ListElements(bytes, value)
            while let element = elements.next() {
                if ASCII.equalsIgnoringCase(bytes, element, "h2c") { upgradeListsH2C = true }
            }
        case 10:
            if ByteWords.equalsFolded(bytes, name, "connection") { observeConnection(value, in: bytes) }
        case 14:
            if ByteWords.equalsFolded(bytes, name, "content-length") {
                try observeContentLength(value, in: bytes)
            } else if ByteWords.equalsFolded(bytes, name, "http2-settings") {
                http2SettingsCount &+= 1
            }
        case 17:
            if ByteWords.equalsFolded(bytes, name, "transfer-encoding") {
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
            case 5: if ByteWords.equalsFolded(bytes, token, "close") { connectionClose = true }
            case 7: if ByteWords.equalsFolded(bytes, token, "upgrade") { connectionUpgrade = true }
            case 10: if ByteWords.equalsFolded(bytes, token, "keep-alive") { connectionKeepAlive = true }
            case 14:
                if ByteWords.equalsFolded(bytes, token, "http2-settings") { connectionHTTP2Settings = true }
            default: break
            }
        }
    }

    /// Content-Length is 1*DIGIT; a list of identical values ("5, 5") and identical repeated fields
    /// are accepted as one value (RFC 9110 section 8.6); anything else is rejected.
    private mutating func observeContentLength(
        _ value: Range<Int>, in bytes: UnsafeRawBufferPointer
    ) throws(ParseError) {
        // The usual value, up to 18 digits and nothing else, is the list's only element and cannot
        // overflow: read it without the list walk.
        if value.count >= 1, value.count <= 18, value.lowerBound >= 0, value.upperBound <= bytes.count {
            var length = 0
            var index = value.lowerBound
            while index < value.upperBound {
                let digit = bytes[index] &- 0x30
                guard digit <= 9 else { break }
                length = length &* 10 &+ Int(digit)
                index &+= 1
            }
            if index == value.upperBound {
                if let previous = contentLength, previous != length { throw .conflictingContentLength }
                contentLength = length
                contentLengthElements &+= 1
                return
            }
        }
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
            if ByteWords.equalsFolded(bytes, coding, "chunked") {
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
