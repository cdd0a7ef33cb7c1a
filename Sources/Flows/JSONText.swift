import SluiceModel

/// A minimal writer of one JSON object on one line, with members in the order they are added (protojson order
/// is the proto declaration order, so callers add fields in that order). Strings are escaped as RFC 8259 requires.
struct JSONText {
    private(set) var text = "{"
    private var empty = true

    /// Adds `"name":` and the already-encoded `json`.
    mutating func raw(_ name: String, _ json: String) {
        text += empty ? "" : ","
        empty = false
        text += JSONText.quoted(name) + ":" + json
    }

    /// Adds a string member unless it is empty (protojson leaves zero values out).
    mutating func string(_ name: String, _ value: String) {
        if !value.isEmpty { raw(name, JSONText.quoted(value)) }
    }

    /// Adds a 32-bit number unless it is zero.
    mutating func number(_ name: String, _ value: some BinaryInteger) {
        if value != 0 { raw(name, String(value)) }
    }

    /// Adds a 64-bit number as a string (protojson's int64/uint64 mapping) unless it is zero.
    mutating func int64(_ name: String, _ value: some BinaryInteger) {
        if value != 0 { raw(name, "\"" + String(value) + "\"") }
    }

    /// Adds a `true` member unless the value is false.
    mutating func flag(_ name: String, _ value: Bool) {
        if value { raw(name, "true") }
    }

    /// Adds an array of strings unless it is empty.
    mutating func strings(_ name: String, _ values: [String]) {
        array(name, values.map(JSONText.quoted))
    }

    /// Adds an array of JSON texts (objects, quoted strings) unless it is empty.
    mutating func array(_ name: String, _ items: [String]) {
        if !items.isEmpty { raw(name, "[" + items.joined(separator: ",") + "]") }
    }

    /// Adds a nested object built by `build` (written even when empty: a set message field is never left out).
    mutating func object(_ name: String, _ build: (inout JSONText) -> Void) {
        var nested = JSONText()
        build(&nested)
        raw(name, nested.finished)
    }

    /// The object text with its closing brace.
    var finished: String { text + "}" }

    /// `value` as a JSON string literal: `"` and `\` escaped, control characters as `\n`, `\t`... or `\u00XX`.
    static func quoted(_ value: String) -> String { ASCII.quoted(value) }
}
