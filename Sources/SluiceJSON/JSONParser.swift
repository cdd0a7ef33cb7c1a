/// RFC 8259 JSON from UTF-8 bytes to a `JSONValue`, strictly: no comments, trailing commas,
/// leading zeros, `NaN`/`Infinity`, raw control characters or invalid UTF-8.
///
/// Arrays and objects are parsed with an explicit stack, not recursion, so deep input costs heap,
/// not call stack; nesting is still limited to `maxDepth`. Strings are validated in place and
/// made with one `String(decoding:as:)` of their bytes (or of the unescaped bytes).
struct JSONParser {
    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// Where the document starts: after a UTF-8 byte order mark, if any.
    private var start = 0
    /// Unescaped bytes of the string being parsed, when it has escapes.
    private var scratch: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// One value, whitespace around it, nothing else.
    mutating func parseDocument() throws(JSONError) -> JSONValue {
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            index = 3
            start = 3
        }
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count {
            throw error("unexpected \(found()) after the value")
        }
        return value
    }

    /// An array or object being filled.
    private struct Frame {
        var isObject: Bool
        var elements: [JSONValue] = []
        var members: [(String, JSONValue)] = []
        /// The key of the member whose value comes next.
        var key = ""
    }

    private mutating func parseValue() throws(JSONError) -> JSONValue {
        var stack: [Frame] = []
        nextValue: while true {
            skipWhitespace()
            guard index < bytes.count else { throw error("expected a value, found end of input") }
            var value: JSONValue
            switch bytes[index] {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                let isObject = bytes[index] == UInt8(ascii: "{")
                if stack.count >= Self.maxDepth {
                    throw error("nesting deeper than \(Self.maxDepth) levels")
                }
                index += 1
                skipWhitespace()
                if peek(isObject ? "}" : "]") {
                    index += 1
                    value = isObject ? .object([]) : .array([])
                } else {
                    var frame = Frame(isObject: isObject)
                    if isObject { frame.key = try parseKey() }
                    stack.append(frame)
                    continue nextValue
                }
            case UInt8(ascii: "\""):
                index += 1
                value = .string(try parseString())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = try parseNumber()
            case UInt8(ascii: "N"), UInt8(ascii: "I"):
                throw error(
                    startsWith("NaN") || startsWith("Infinity")
                        ? "NaN and Infinity are not valid JSON" : "expected a value, found \(found())")
            default:
                throw error("expected a value, found \(found())")
            }

            // Store the value in the innermost open container; close the containers that end here.
            while let top = stack.indices.last {
                let isObject = stack[top].isObject
                if isObject {
                    stack[top].members.append((stack[top].key, value))
                } else {
                    stack[top].elements.append(value)
                }
                skipWhitespace()
                let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if peek(",") {
                    index += 1
                    skipWhitespace()
                    if index < bytes.count && bytes[index] == close {
                        throw error("trailing comma before '\(Character(Unicode.Scalar(close)))'")
                    }
                    if isObject { stack[top].key = try parseKey() }
                    continue nextValue
                }
                guard index < bytes.count && bytes[index] == close else {
                    throw error("expected ',' or '\(Character(Unicode.Scalar(close)))', found \(found())")
                }
                index += 1
                let frame = stack.removeLast()
                value = isObject ? .object(frame.members) : .array(frame.elements)
            }
            return value
        }
    }

    /// `"key"` and the `:` after it.
    private mutating func parseKey() throws(JSONError) -> String {
        skipWhitespace()
        guard peek("\"") else { throw error("expected a string key, found \(found())") }
        index += 1
        let key = try parseString()
        skipWhitespace()
        guard peek(":") else { throw error("expected ':', found \(found())") }
        index += 1
        return key
    }

    // MARK: Scalars

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        let matches =
            bytes.count - index >= count
            && literal.withUTF8Buffer { text in
                text.elementsEqual(bytes[index..<index + count])
            }
        guard matches else { throw error("expected a value, found \(found())") }
        index += count
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as text.
    private mutating func parseNumber() throws(JSONError) -> JSONValue {
        let begin = index
        if peek("-") {
            if startsWith("-Infinity") || startsWith("-NaN") { throw error("NaN and Infinity are not valid JSON") }
            index += 1
        }
        guard peekDigit() else { throw error("expected a digit, found \(found())") }
        if peek("0") {
            index += 1
            if peekDigit() { throw error("leading zeros are not allowed") }
        } else {
            skipDigits()
        }
        if peek(".") {
            index += 1
            guard peekDigit() else { throw error("expected a digit after '.', found \(found())") }
            skipDigits()
        }
        if peek("e") || peek("E") {
            index += 1
            if peek("+") || peek("-") { index += 1 }
            guard peekDigit() else { throw error("expected a digit in the exponent, found \(found())") }
            skipDigits()
        }
        return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<index]), as: UTF8.self))
    }

    /// The rest of a string whose opening quote has been consumed, through the closing quote.
    private mutating func parseString() throws(JSONError) -> String {
        let begin = index
        try skipPlainBytes(stringStart: begin - 1)
        if bytes[index] == UInt8(ascii: "\"") {
            index += 1
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[begin..<index - 1]), as: UTF8.self)
        }
        // Escapes: unescape into `scratch`.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: bytes[begin..<index])
        while bytes[index] == UInt8(ascii: "\\") {
            try parseEscape()
            let run = index
            try skipPlainBytes(stringStart: begin - 1)
            scratch.append(contentsOf: bytes[run..<index])
        }
        index += 1
        return String(decoding: scratch, as: UTF8.self)
    }

    /// Advances over string content up to a `"` or `\`, validating UTF-8. Throws at the end of
    /// input or a raw control character.
    private mutating func skipPlainBytes(stringStart: Int) throws(JSONError) {
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return }
            if byte < 0x20 {
                throw error("control character U+\(hex(byte, digits: 4)) must be escaped in a string")
            }
            if byte < 0x80 {
                index += 1
            } else {
                try skipUTF8Sequence()
            }
        }
        throw error(at: stringStart, "unterminated string")
    }

    /// One multi-byte UTF-8 sequence: no overlong forms, surrogates or values past U+10FFFF.
    private mutating func skipUTF8Sequence() throws(JSONError) {
        let lead = bytes[index]
        var second: ClosedRange<UInt8> = 0x80...0xBF
        let length: Int
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; second = 0xA0...0xBF
        case 0xED: length = 3; second = 0x80...0x9F
        case 0xE1...0xEF: length = 3
        case 0xF0: length = 4; second = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; second = 0x80...0x8F
        default: throw error("invalid UTF-8")
        }
        guard bytes.count - index >= length, second.contains(bytes[index + 1]) else {
            throw error("invalid UTF-8")
        }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) {
            throw error("invalid UTF-8")
        }
        index += length
    }

    /// One escape, from its `\`, appended to `scratch` as UTF-8.
    private mutating func parseEscape() throws(JSONError) {
        let escape = index
        index += 1
        guard index < bytes.count else { return }  // The caller reports the unterminated string.
        let byte = bytes[index]
        index += 1
        if let unescaped = JSON.unescaped(byte) {
            scratch.append(unescaped)
            return
        }
        switch byte {
        case UInt8(ascii: "u"):
            var value = try parseHex4(escape: escape)
            if (0xDC00...0xDFFF).contains(value) {
                throw error(at: escape, "unpaired surrogate \\u\(hex(value, digits: 4))")
            }
            if (0xD800...0xDBFF).contains(value) {
                guard startsWith("\\u") else {
                    throw error(at: escape, "unpaired surrogate \\u\(hex(value, digits: 4))")
                }
                index += 2
                let low = try parseHex4(escape: index - 2)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error(at: escape, "unpaired surrogate \\u\(hex(value, digits: 4))")
                }
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            }
            appendUTF8(value)
        default:
            index -= 1
            let what =
                byte > 0x20 && byte < 0x7F ? "'\\\(Character(Unicode.Scalar(byte)))'" : "\\ followed by \(found())"
            throw error(at: escape, "invalid escape \(what)")
        }
    }

    /// Appends a scalar value (never a surrogate) to `scratch` as UTF-8.
    private mutating func appendUTF8(_ value: UInt32) {
        switch value {
        case 0..<0x80:
            scratch.append(UInt8(value))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | value >> 6))
            scratch.append(UInt8(0x80 | value & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | value >> 12))
            scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | value & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | value >> 18 & 0x07))
            scratch.append(UInt8(0x80 | value >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | value >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | value & 0x3F))
        }
    }

    private mutating func parseHex4(escape: Int) throws(JSONError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error(at: escape, "invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error(at: escape, "invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    // MARK: Helpers

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func skipDigits() {
        while peekDigit() { index += 1 }
    }

    private func peek(_ ascii: Unicode.Scalar) -> Bool {
        index < bytes.count && bytes[index] == UInt8(ascii: ascii)
    }

    private func peekDigit() -> Bool {
        index < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
    }

    private func startsWith(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        return bytes.count - index >= count && text.withUTF8Buffer { $0.elementsEqual(bytes[index..<index + count]) }
    }

    /// The byte at `index` for a message: `'x'`, `byte 0xFF` or `end of input`.
    private func found() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte > 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(hex(byte, digits: 2))"
    }

    private func error(_ message: String) -> JSONError {
        error(at: index, message)
    }

    /// `line L column C: message`, both 1-based; columns count characters (UTF-8 sequences).
    private func error(at offset: Int, _ message: String) -> JSONError {
        var line = 1
        var column = 1
        for byte in bytes[start..<min(max(offset, start), bytes.count)] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONError(message: "line \(line) column \(column): \(message)")
    }
}

/// Upper-case hex, zero-padded to `digits`.
func hex<T: BinaryInteger>(_ value: T, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}

extension JSON {
    /// The byte a one-letter escape stands for (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`,
    /// `\t`; RFC 8259 section 7), nil for `u` and for anything that is no escape.
    public static func unescaped(_ letter: UInt8) -> UInt8? {
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return letter
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        default: return nil
        }
    }
}
