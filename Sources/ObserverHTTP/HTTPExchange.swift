/// One GET of the observer's small HTTP/1.1 server (metrics, the page): the request as the route
/// sees it, and the response it returns. Pure values.
public struct HTTPRequest: Equatable, Sendable {
    /// `GET` or `HEAD` (others are answered 405 before routing).
    public var method: String
    /// The path, without the query (`/metrics`).
    public var path: String
    /// Query parameters, percent-decoded (`namespace=prod`); the last one wins.
    public var query: [String: String]

    public init(method: String, path: String, query: [String: String] = [:]) {
        self.method = method
        self.path = path
        self.query = query
    }

    /// Splits an origin-form target (`/api/servicemap?namespace=a%2Db`) into path and query.
    public init(method: String, target: String) {
        guard let mark = target.firstIndex(of: "?") else {
            self.init(method: method, path: target)
            return
        }
        var query: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            query[Self.percentDecoded(kv[0])] = kv.count == 2 ? Self.percentDecoded(kv[1]) : ""
        }
        self.init(method: method, path: String(target[..<mark]), query: query)
    }

    /// `%XX` decoded and `+` as space; a malformed escape is kept as written.
    static func percentDecoded(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(s.utf8)
        var i = 0
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 0x30...0x39: b - 0x30
            case 0x41...0x46: b - 0x41 + 10
            case 0x61...0x66: b - 0x61 + 10
            default: nil
            }
        }
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count, let h = hex(utf8[i + 1]), let l = hex(utf8[i + 2]) {
                bytes.append(h << 4 | l)
                i += 3
            } else {
                bytes.append(utf8[i] == UInt8(ascii: "+") ? 0x20 : utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// What a route answers.
public struct HTTPResponse: Equatable, Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", text: String) {
        self.init(status: status, contentType: contentType, body: Array(text.utf8))
    }

    /// The status line's reason phrase.
    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 431: "Request Header Fields Too Large"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }

    /// The bytes on the wire: status line, `Content-Type`, `Content-Length`, `Connection: close`
    /// when `close`, `Cache-Control: no-store`, the body unless `headOnly`.
    public func serialized(close: Bool, headOnly: Bool = false) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nCache-Control: no-store\r\n"
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (headOnly ? [] : body)
    }
}
