import SluiceIO

/// Answers the proxy generates itself. The 403 is byte-for-byte what Cilium's Envoy sends
/// (cilium-semantics 3.1): `content-length`, `content-type: text/plain`, `date`, `server: envoy`,
/// body "Access denied" + CRLF.
struct LocalReply {
    /// Status line and reason phrase for each status the proxy generates.
    static func statusLine(_ status: Int) -> String {
        switch status {
        case 400: return "HTTP/1.1 400 Bad Request\r\n"
        case 307: return "HTTP/1.1 307 Temporary Redirect\r\n"
        case 403: return "HTTP/1.1 403 Forbidden\r\n"
        case 408: return "HTTP/1.1 408 Request Timeout\r\n"
        case 414: return "HTTP/1.1 414 URI Too Long\r\n"
        case 431: return "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        case 501: return "HTTP/1.1 501 Not Implemented\r\n"
        case 502: return "HTTP/1.1 502 Bad Gateway\r\n"
        case 503: return "HTTP/1.1 503 Service Unavailable\r\n"
        case 504: return "HTTP/1.1 504 Gateway Timeout\r\n"
        case 505: return "HTTP/1.1 505 HTTP Version Not Supported\r\n"
        default: return "HTTP/1.1 \(status) Error\r\n"
        }
    }

    /// Body text for each status (Envoy's wording where Envoy has one).
    static func body(_ status: Int, accessDenied: String) -> String {
        switch status {
        case 403: return accessDenied.hasSuffix("\r\n") ? accessDenied : accessDenied + "\r\n"
        case 503: return "upstream connect error or disconnect/reset before headers. reset reason: connection failure"
        case 504: return "upstream request timeout"
        case 408: return "request timeout"
        case 502: return "upstream sent an invalid response"
        default: return "Bad Request"
        }
    }

    /// Pre-rendered replies with a 29-byte date slot, rendered once per status; the date is
    /// patched in place at most once a second per reply, so a 403 costs one memcpy.
    final class Cache {
        private final class Entry {
            var bytes: [UInt8]
            let dateOffset: Int
            var dateSecond: Int64 = -1
            init(bytes: [UInt8], dateOffset: Int) { self.bytes = bytes; self.dateOffset = dateOffset }
        }
        private var rendered: [Int: Entry] = [:]
        private var date = [UInt8](repeating: 0x20, count: 30)
        private var dateSecond: Int64 = -1
        let accessDenied: String

        init(accessDenied: String) { self.accessDenied = accessDenied }

        /// Appends the reply for `status` to `buffer`; `close` adds `connection: close`.
        func append(status: Int, close: Bool, to buffer: IOBuffer) {
            let key = close ? -status : status
            let entry = rendered[key] ?? render(status: status, close: close, key: key)
            refreshDate()
            if entry.dateSecond != dateSecond {
                entry.dateSecond = dateSecond
                let offset = entry.dateOffset
                entry.bytes.withUnsafeMutableBufferPointer { p in
                    for i in 0..<29 { p[offset + i] = date[i] }
                }
            }
            entry.bytes.withUnsafeBytes { _ = buffer.append($0) }
        }

        /// Appends a `307 Temporary Redirect` to `location` (Envoy's answer to an encoded slash
        /// under UNESCAPE_AND_REDIRECT), empty body. Rendered per call: it is rare.
        func appendRedirect(location: UnsafeRawBufferPointer, close: Bool, to buffer: IOBuffer) {
            refreshDate()
            var bytes: [UInt8] = Array("HTTP/1.1 307 Temporary Redirect\r\nlocation: ".utf8)
            bytes.append(contentsOf: location)
            bytes.append(contentsOf: "\r\ncontent-length: 0\r\ndate: ".utf8)
            bytes.append(contentsOf: date[0..<29])
            bytes.append(contentsOf: "\r\nserver: envoy\r\n".utf8)
            if close { bytes.append(contentsOf: "connection: close\r\n".utf8) }
            bytes.append(contentsOf: "\r\n".utf8)
            bytes.withUnsafeBytes { _ = buffer.append($0) }
        }

        private func render(status: Int, close: Bool, key: Int) -> Entry {
            let body = LocalReply.body(status, accessDenied: accessDenied)
            var head = LocalReply.statusLine(status)
            head += "content-length: \(body.utf8.count)\r\ncontent-type: text/plain\r\ndate: "
            let dateOffset = head.utf8.count
            head += String(repeating: " ", count: 29) + "\r\nserver: envoy\r\n"
            if close { head += "connection: close\r\n" }
            head += "\r\n" + body
            let entry = Entry(bytes: Array(head.utf8), dateOffset: dateOffset)
            rendered[key] = entry
            return entry
        }

        private func refreshDate() {
            let now = Int64(SystemClock.realtimeNs() / 1_000_000_000)
            guard now != dateSecond else { return }
            dateSecond = now
            date.withUnsafeMutableBufferPointer { p in
                p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: 30) {
                    SystemClock.httpDate(unixSeconds: now, into: $0)
                }
            }
        }
    }
}
