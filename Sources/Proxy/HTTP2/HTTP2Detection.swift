import HTTP1
import HTTP2
import SluiceModel

/// Which protocol a connection on an HTTP-rule port speaks, decided from its first bytes
/// (RFC 9113 3.4: HTTP/2 with prior knowledge starts with the 24-byte client preface; anything
/// else is HTTP/1.x, where an `Upgrade: h2c` request may switch later, RFC 7540 3.2).
enum HTTP2Preface {
    static let bytes: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum Kind: Equatable { case http2, http1, needMore }

    static func classify(_ first: UnsafeRawBufferPointer) -> Kind {
        let n = min(first.count, bytes.count)
        for i in 0..<n where first[i] != bytes[i] { return .http1 }
        return n == bytes.count ? .http2 : .needMore
    }
}

/// An HTTP/1.1 request asking for `Upgrade: h2c`, turned into stream 1 of an HTTP/2 session:
/// its header block in HTTP/2 form, the decoded HTTP2-Settings payload, and how many body bytes
/// follow the head (they become stream 1's DATA toward the upstream).
struct HTTP2Upgrade {
    var block: HTTP2HeaderBlock
    var settings: [UInt8]
    var bodyLength: Int
    var isHEAD: Bool

    /// Connection-specific fields (RFC 9113 8.2.2) and those HTTP/2 carries as pseudo-headers.
    static let dropped: Set<String> = [
        "connection", "upgrade", "http2-settings", "host", "keep-alive",
        "proxy-connection", "transfer-encoding", "te",
    ]

    /// Nil when the request cannot be upgraded: a chunked body (its end is not known before the
    /// switch), or an HTTP2-Settings value that is not base64url.
    init?(bytes: UnsafeRawBufferPointer, head: RequestHead) {
        switch head.framing {
        case .none, .untilClose: bodyLength = 0
        case .contentLength(let n): bodyLength = n
        case .chunked: return nil
        }
        guard let s = head.firstValue(named: "http2-settings", in: bytes),
            let decoded = HTTP2Upgrade.base64url(UnsafeRawBufferPointer(rebasing: bytes[s]))
        else { return nil }
        settings = decoded
        var received = head
        var block = HTTP2HeaderBlock()
        isHEAD = RequestView.with(bytes: bytes, head: &received) { view in
            block.append(name: ":method", value: view.method)
            block.append(name: ":scheme", value: "http")
            block.append(name: ":authority", value: view.authority)
            block.append(name: ":path", value: view.path)
            return view.isHEAD
        }
        for field in head.headers {
            let name = Array(UnsafeRawBufferPointer(rebasing: bytes[field.name])).map(ASCII.lower)
            let text = String(decoding: name, as: UTF8.self)
            let value = Array(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
            if HTTP2Upgrade.dropped.contains(text) {
                if text == "te" && String(decoding: value, as: UTF8.self).lowercased() == "trailers" {
                    block.append(name: name, value: value)
                }
                continue
            }
            block.append(name: name, value: value)
        }
        self.block = block
    }

    /// RFC 4648 section 5 without padding (RFC 7540 3.2.1); padding tolerated. Nil on a bad byte.
    static func base64url(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in text {
            let v: UInt32
            switch c {
            case 0x41...0x5A: v = UInt32(c - 0x41)
            case 0x61...0x7A: v = UInt32(c - 0x61 + 26)
            case 0x30...0x39: v = UInt32(c - 0x30 + 52)
            case 0x2D, 0x2B: v = 62
            case 0x5F, 0x2F: v = 63
            case 0x3D: continue
            default: return nil
            }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }

    /// The 101 answer (RFC 7540 3.2); the server's HTTP/2 connection preface follows it.
    static let switching: [UInt8] = Array(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".utf8)
}
