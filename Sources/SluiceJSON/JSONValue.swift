// JSON for Codable types without Foundation. The agent reads its files and speaks its control
// protocol through this module, so it must never trap on input: every failure is a JSONError.

/// A failure to parse, decode or encode JSON, with a message meant for people: a position
/// (`line 3 column 7: expected ':'`) for syntax errors, a coding path
/// (`endpoints[2].ipv4: expected a string, found a number`) for type and value errors.
public struct JSONError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The whole message, position or path included.
    public var message: String

    init(message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// A parsed JSON document, also usable directly.
///
/// Numbers keep their literal text (`1.50` stays `"1.50"`), so no precision is lost until a
/// caller picks a type. Objects keep their members in document order, duplicates included.
public enum JSONValue: Equatable, Sendable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, as its literal text. When building values by hand, the text must be a valid JSON
    /// number (`-12`, `0.5`, `1e+20`): `serialized()` writes it as is.
    case number(String)
    /// A string, unescaped.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object: its members in order, duplicate keys kept.
    case object([(String, JSONValue)])

    /// Structural equality. Numbers compare by their text (`1.0` is not `1`); objects compare
    /// member by member, in order.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null):
            return true
        case let (.bool(a), .bool(b)):
            return a == b
        case let (.number(a), .number(b)):
            return a == b
        case let (.string(a), .string(b)):
            return a == b
        case let (.array(a), .array(b)):
            return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where x.0 != y.0 || x.1 != y.1 {
                return false
            }
            return true
        default:
            return false
        }
    }
}

extension JSONValue {
    /// Parses one JSON value from UTF-8 bytes. Whitespace may surround it; anything else after
    /// it is an error, as are invalid UTF-8, unpaired surrogates, raw control characters in
    /// strings, leading zeros, trailing commas, `NaN`/`Infinity` and nesting deeper than 512.
    /// A UTF-8 byte order mark at the start is skipped.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        let result: Result<JSONValue, JSONError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer)
            do throws(JSONError) {
                return .success(try parser.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The value as UTF-8 JSON text. `sortedKeys` orders object members by the bytes of their
    /// keys; `pretty` puts one element or member per line, indented by two spaces, written
    /// `"key": value`. Empty arrays and objects are always `[]` and `{}`.
    public func serialized(sortedKeys: Bool = false, pretty: Bool = false) -> [UInt8] {
        var writer = JSONWriter(sortedKeys: sortedKeys, pretty: pretty)
        writer.write(self)
        return writer.output
    }

    /// What kind of value this is, for error messages: "a string", "null", ...
    var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
