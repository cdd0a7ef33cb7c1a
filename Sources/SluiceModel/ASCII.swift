/// ASCII byte classes and case folding shared by the parsers (HTTP/1, DNS names, policy names).
/// Only A-Z and a-z fold; every other byte, UTF-8 included, compares as itself (what HTTP field
/// names, DNS labels and Cilium's `strings.ToLower` on ASCII names need).
public enum ASCII {
    public static let cr: UInt8 = 0x0D
    public static let lf: UInt8 = 0x0A
    public static let sp: UInt8 = 0x20
    public static let htab: UInt8 = 0x09
    public static let colon: UInt8 = 0x3A
    public static let comma: UInt8 = 0x2C
    public static let semicolon: UInt8 = 0x3B

    /// `c` with A-Z mapped to a-z.
    @inlinable @inline(__always)
    public static func lower(_ c: UInt8) -> UInt8 {
        (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
    }

    /// Whether `c` is SP or HTAB (HTTP's OWS).
    @inlinable @inline(__always)
    public static func isWhitespace(_ c: UInt8) -> Bool {
        c == sp || c == htab
    }

    /// The value of a hex digit, or nil.
    @inlinable @inline(__always)
    public static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c &- 0x30)
        case 0x41...0x46: return Int(c &- 0x41 &+ 10)
        case 0x61...0x66: return Int(c &- 0x61 &+ 10)
        default: return nil
        }
    }

    /// `text` with A-Z mapped to a-z and every other character kept (unlike `String.lowercased()`,
    /// which folds non-ASCII letters too).
    public static func lowercased(_ text: some StringProtocol) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return String(text) }
        return String(decoding: utf8.map(lower), as: UTF8.self)
    }

    /// Whether `a` and `b` are equal ignoring ASCII case.
    public static func equalsIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { lower($0) == lower($1) }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP's OWS; no Foundation needed).
    public var trimmingSpaces: SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}

extension ASCII {
    /// `text` in double quotes: `"` and `\` escaped, `\n` `\r` `\t` (and, with `shortBF`, `\b` `\f`)
    /// as such, every other control character (and, with `escapeDEL`, DEL) as `controlPrefix` and
    /// two lower-case hex digits. Shared by Flows and Policy: JSON (`\u00`, the default: flow JSON), a
    /// policy's JSON text (no short forms), Go's `%q` of Hubble's DNS summaries (`\x`, DEL escaped).
    public static func quoted(
        _ text: String, controlPrefix: String = "\\u00", shortBF: Bool = true, escapeDEL: Bool = false
    ) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}" where shortBF: out += "\\b"
            case "\u{0C}" where shortBF: out += "\\f"
            default:
                if scalar.value < 0x20 || (escapeDEL && scalar.value == 0x7F) {
                    out += controlPrefix + hex2(UInt8(scalar.value))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `byte` as two lower-case hex digits.
    public static func hex2(_ byte: UInt8) -> String {
        String(unsafeUninitializedCapacity: 2) { out in
            out[0] = hexDigit(byte >> 4)
            out[1] = hexDigit(byte & 0xF)
            return 2
        }
    }

    /// The lower-case hex digit (ASCII) of `nibble` (0-15).
    @inline(__always)
    public static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x57 + nibble
    }
}
