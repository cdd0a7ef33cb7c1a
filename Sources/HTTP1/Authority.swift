import SluiceModel

/// Checks on the authority a request names: the Host field and the authority of an absolute-form
/// target (RFC 9110 section 7.2, RFC 3986 section 3.2).
///
/// A proxy and its upstream must agree on which host a request is for, so anything a backend
/// could read two ways is refused: userinfo (`user@host`), spaces, `#`, `/`, `?`, an empty host, a
/// port that is not 1 to 5 digits. Accepted: a reg-name (unreserved, sub-delims, pct-encoded), an
/// IPv4 address (a reg-name by syntax) or a bracketed IP-literal, each with an optional `:port`.
public enum Authority {
    /// Throws `ParseError.badHost` unless `bytes` is `host [ ":" port ]` as above.
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws(ParseError) {
        let n = bytes.count
        guard n > 0 else { throw .badHost }
        var i = 0
        if bytes[0] == 0x5B {  // '[' IP-literal ']'
            i = 1
            while i < n, bytes[i] != 0x5D {
                guard isLiteralByte(bytes[i]) else { throw .badHost }
                i &+= 1
            }
            guard i < n, i > 1 else { throw .badHost }
            i &+= 1
        } else {
            while i < n, bytes[i] != ASCII.colon {
                let c = bytes[i]
                if c == 0x25 {  // pct-encoded
                    guard i &+ 2 < n, ASCII.hexValue(bytes[i &+ 1]) != nil, ASCII.hexValue(bytes[i &+ 2]) != nil
                    else { throw .badHost }
                    i &+= 3
                    continue
                }
                guard isRegNameByte(c) else { throw .badHost }
                i &+= 1
            }
            guard i > 0 else { throw .badHost }
        }
        guard i < n else { return }
        guard bytes[i] == ASCII.colon else { throw .badHost }
        i &+= 1
        let digits = n &- i
        // An empty port is allowed by RFC 3986 ("host:"), but nothing sends it; a backend may not
        // read it as the default port, so it is refused with the rest.
        guard digits >= 1, digits <= 5 else { throw .badHost }
        while i < n {
            guard bytes[i] >= 0x30, bytes[i] <= 0x39 else { throw .badHost }
            i &+= 1
        }
    }

    /// Whether two authorities are the same, ASCII case-insensitively (RFC 3986 section 6.2.2.1).
    public static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where ASCII.lower(a[i]) != ASCII.lower(b[i]) { return false }
        return true
    }

    /// unreserved / sub-delims (RFC 3986 section 2.2, 2.3); `%` is handled by the caller.
    @inline(__always)
    static func isRegNameByte(_ c: UInt8) -> Bool {
        switch c {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true  // DIGIT ALPHA
        case 0x2D, 0x2E, 0x5F, 0x7E: return true  // - . _ ~
        case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D: return true  // ! $ & ' ( ) * + , ; =
        default: return false
        }
    }

    /// Bytes of an IPv6address or IPvFuture inside brackets: hex digits, `:`, `.`, and the
    /// IPvFuture `v` prefix and its unreserved / sub-delims.
    @inline(__always)
    private static func isLiteralByte(_ c: UInt8) -> Bool {
        c == ASCII.colon || isRegNameByte(c)
    }
}
