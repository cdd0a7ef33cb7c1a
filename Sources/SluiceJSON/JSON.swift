/// Codable to and from UTF-8 JSON, without Foundation.
///
/// Output matches Foundation's `JSONEncoder` except that `/` is not escaped and pretty output
/// is `"key": value`; input is strict RFC 8259 (see `JSONValue.parse`). Integers are decoded
/// only from integer literals (no fraction, no exponent) that fit the type.
public enum JSON {
    /// Encodes `value` as UTF-8 JSON. `sortedKeys`: object keys in byte order; `pretty`:
    /// two-space indented, one member per line, `"key": value`.
    ///
    /// Throws for non-finite floating-point values and for a top-level value that encodes nothing.
    public static func encode<T: Encodable>(_ value: T, sortedKeys: Bool = false, pretty: Bool = false)
        throws(JSONError) -> [UInt8]
    {
        #if SLUICE_FOUNDATION_JSON
            return try FoundationJSON.encode(value, sortedKeys: sortedKeys, pretty: pretty)
        #else
            try encodeTree(value).serialized(sortedKeys: sortedKeys, pretty: pretty)
        #endif
    }

    /// `encode(_:sortedKeys:pretty:)` as a `String`.
    public static func encodeString<T: Encodable>(_ value: T, sortedKeys: Bool = false, pretty: Bool = false)
        throws(JSONError) -> String
    {
        String(decoding: try encode(value, sortedKeys: sortedKeys, pretty: pretty), as: UTF8.self)
    }

    /// Decodes a `T` from UTF-8 JSON bytes (whitespace around allowed, nothing else after the value).
    /// Errors name the position for syntax errors and the coding path for the rest.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(JSONError) -> T {
        #if SLUICE_FOUNDATION_JSON
            return try FoundationJSON.decode(type, from: bytes)
        #endif
        let document = try JSONValue.parse(bytes)
        let decoder = JSONDecoderImpl(value: document, parent: nil, key: nil, state: DecodingState())
        do {
            return try T(from: decoder)
        } catch {
            throw jsonError(error, foreign: decoder.state.foreignError)
        }
    }

    /// Decodes a `T` from JSON text.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws(JSONError) -> T {
        try decode(type, from: Array(text.utf8))
    }

    static func encodeTree<T: Encodable>(_ value: T) throws(JSONError) -> JSONValue {
        let encoder = JSONEncoderImpl(parent: nil, key: nil)
        do {
            try value.encode(to: encoder)
        } catch {
            throw jsonError(error, foreign: nil)
        }
        guard let root = encoder.root else {
            throw JSONError(message: "top-level \(T.self) did not encode any values")
        }
        return root.resolved()
    }
}

// MARK: Coding paths and errors

/// The key of an array element in coding paths: rendered `[index]`.
struct IndexKey: CodingKey {
    let index: Int
    init(_ index: Int) { self.index = index }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.index = intValue }
    var stringValue: String { "Index \(index)" }
    var intValue: Int? { index }
}

/// A plain string key, for `super` and for keys built from JSON members.
struct StringKey: CodingKey {
    let stringValue: String
    init(_ stringValue: String) { self.stringValue = stringValue }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = String(intValue) }
    var intValue: Int? { nil }
    static let superKey = StringKey("super")
}

/// `a.b[2].c`; empty for the top level.
func renderPath(_ path: [any CodingKey]) -> String {
    var text = ""
    for key in path {
        if let index = key as? IndexKey {
            text += "[\(index.index)]"
        } else {
            if !text.isEmpty { text += "." }
            text += key.stringValue
        }
    }
    return text
}

/// `path: message`, or just the message at the top level.
func pathMessage(_ path: [any CodingKey], _ message: String) -> JSONError {
    let location = renderPath(path)
    return JSONError(message: location.isEmpty ? message : "\(location): \(message)")
}

/// A public error from what a Codable implementation threw. Errors other than DecodingError and
/// EncodingError (a type's own validation) get the path where they were first seen, if known.
func jsonError(_ error: any Error, foreign: (path: [any CodingKey], text: String)?) -> JSONError {
    let context: (path: [any CodingKey], text: String)
    switch error {
    case let error as JSONError:
        return error
    case let error as DecodingError:
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c):
            context = (c.codingPath, c.debugDescription)
        @unknown default:
            context = ([], String(describing: error))
        }
    case let error as EncodingError:
        switch error {
        case .invalidValue(_, let c):
            context = (c.codingPath, c.debugDescription)
        @unknown default:
            context = ([], String(describing: error))
        }
    default:
        let text = String(describing: error)
        if let foreign, foreign.text == text {
            context = foreign
        } else {
            context = ([], text)
        }
    }
    return pathMessage(context.path, context.text)
}

/// A node of the encoder's or the decoder's tree (`JSONEncoderImpl`, `JSONDecoderImpl`): its
/// coding path is its parent's and its own key (none: the parent's path); no user info.
protocol CodingTreeNode: AnyObject {
    var parent: Self? { get }
    var key: (any CodingKey)? { get }
}

extension CodingTreeNode {
    var codingPath: [any CodingKey] {
        var path = parent?.codingPath ?? []
        if let key { path.append(key) }
        return path
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }
}
