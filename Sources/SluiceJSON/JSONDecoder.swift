// The `Decoder` behind `JSON.decode`: a parsed `JSONValue` to Decodable values.
//
// Errors are the standard DecodingErrors (so types that catch `keyNotFound` still work), with
// messages written for people; `JSON.decode` turns them into a JSONError with the coding path.
// Duplicate keys: the first member wins, like Foundation. Absent keys and null are both nil for
// `decodeIfPresent`.

/// Where a type's own error (not a DecodingError) was first thrown, for its message's path.
final class DecodingState {
    var foreignError: (path: [any CodingKey], text: String)?

    func record(_ error: any Error, at path: [any CodingKey]) {
        if error is DecodingError || error is JSONError { return }
        let text = String(describing: error)
        if foreignError?.text != text { foreignError = (path, text) }
    }
}

final class JSONDecoderImpl: Decoder, SingleValueDecodingContainer, CodingTreeNode {
    let value: JSONValue
    /// The decoder of the enclosing value and this value's key in it.
    let parent: JSONDecoderImpl?
    let key: (any CodingKey)?
    let state: DecodingState

    init(value: JSONValue, parent: JSONDecoderImpl?, key: (any CodingKey)?, state: DecodingState) {
        self.value = value
        self.parent = parent
        self.key = key
        self.state = state
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw mismatch([String: Any].self, "an object", value, key: nil)
        }
        return KeyedDecodingContainer(KeyedDecoder(decoder: self, members: members))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw mismatch([Any].self, "an array", value, key: nil)
        }
        return UnkeyedDecoder(decoder: self, elements: elements)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: Values (at `key` under this decoder, or this decoder's own value for nil)

    func path(_ key: (any CodingKey)?) -> [any CodingKey] {
        var path = codingPath
        if let key { path.append(key) }
        return path
    }

    func mismatch(_ type: Any.Type, _ expected: String, _ found: JSONValue, key: (any CodingKey)?) -> DecodingError {
        let context = DecodingError.Context(
            codingPath: path(key),
            debugDescription: "expected \(expected), found \(found.kindDescription)")
        if case .null = found { return .valueNotFound(type, context) }
        return .typeMismatch(type, context)
    }

    func bool(_ value: JSONValue, key: (any CodingKey)?) throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch(Bool.self, "a boolean", value, key: key) }
        return bool
    }

    func string(_ value: JSONValue, key: (any CodingKey)?) throws -> String {
        guard case .string(let string) = value else { throw mismatch(String.self, "a string", value, key: key) }
        return string
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type, _ value: JSONValue, key: (any CodingKey)?) throws -> I {
        guard case .number(let text) = value else { throw mismatch(I.self, "a number", value, key: key) }
        if let integer = parseInteger(text, as: I.self) { return integer }
        let integral = !text.utf8.contains {
            $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
        }
        throw DecodingError.dataCorrupted(
            .init(
                codingPath: path(key),
                debugDescription: integral
                    ? "number \(text) does not fit in \(I.self)" : "expected an integer, found \(text)"))
    }

    func float<F: BinaryFloatingPoint & LosslessStringConvertible>(
        _ type: F.Type, _ value: JSONValue,
        key: (any CodingKey)?
    ) throws -> F {
        guard case .number(let text) = value else { throw mismatch(F.self, "a number", value, key: key) }
        guard let number = F(text), number.isFinite else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: path(key),
                    debugDescription: "number \(text) does not fit in \(F.self)"))
        }
        return number
    }

    /// A `T` decoded from `value` by a child decoder at `key`.
    func child<T: Decodable>(_ type: T.Type, _ value: JSONValue, key: any CodingKey) throws -> T {
        let child = JSONDecoderImpl(value: value, parent: self, key: key, state: state)
        do {
            return try T(from: child)
        } catch {
            state.record(error, at: child.codingPath)
            throw error
        }
    }

    /// `value` as `type` when that is a JSON scalar type (Bool, String, Double, Float or a
    /// fixed-width integer), else nil: the one place the containers read scalars.
    func scalar<T: Decodable>(_ type: T.Type, _ value: JSONValue, key: (any CodingKey)?) throws -> T? {
        if type == Bool.self { return try bool(value, key: key) as? T }
        if type == String.self { return try string(value, key: key) as? T }
        if type == Double.self { return try float(Double.self, value, key: key) as? T }
        if type == Float.self { return try float(Float.self, value, key: key) as? T }
        if let integerType = type as? any FixedWidthInteger.Type {
            return try integer(integerType, value, key: key) as? T
        }
        return nil
    }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    // The Bool, String, floating-point and integer requirements are all met by this generic
    // decode: JSON scalars go through `scalar`, anything else through its own init(from:).
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try scalar(type, value, key: nil) ?? T(from: self) }
    // Int128 and UInt128 have default requirements (that throw) in the standard library, which
    // win over the generic one: they are written out.
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: Int128.Type) throws -> Int128 { try integer(type, value, key: nil) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: UInt128.Type) throws -> UInt128 { try integer(type, value, key: nil) }
}

/// The integer an integer literal (`-?[0-9]+`) denotes, or nil if it is not one or does not fit.
func parseInteger<I: FixedWidthInteger>(_ text: String, as type: I.Type) -> I? {
    var digits = text.utf8[...]
    let negative = digits.first == UInt8(ascii: "-")
    if negative { digits = digits.dropFirst() }
    guard !digits.isEmpty else { return nil }
    var result: I = 0
    for byte in digits {
        guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
        let digit = I(truncatingIfNeeded: byte &- UInt8(ascii: "0"))
        let (shifted, overflow) = result.multipliedReportingOverflow(by: 10)
        let (next, overflow2) =
            negative
            ? shifted.subtractingReportingOverflow(digit)
            : shifted.addingReportingOverflow(digit)
        guard !overflow && !overflow2 else { return nil }
        result = next
    }
    return result
}

struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: JSONDecoderImpl
    let members: [(String, JSONValue)]
    /// First position of each key, for objects too big to search.
    private let positions: [String: Int]?

    init(decoder: JSONDecoderImpl, members: [(String, JSONValue)]) {
        self.decoder = decoder
        self.members = members
        if members.count > 16 {
            var positions: [String: Int] = [:]
            positions.reserveCapacity(members.count)
            for (offset, member) in members.enumerated() where positions[member.0] == nil {
                positions[member.0] = offset
            }
            self.positions = positions
        } else {
            positions = nil
        }
    }

    var codingPath: [any CodingKey] { decoder.codingPath }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return members.firstIndex { $0.0 == key }
    }

    var allKeys: [Key] {
        members.indices.compactMap { offset in
            position(of: members[offset].0) == offset ? Key(stringValue: members[offset].0) : nil
        }
    }

    func contains(_ key: Key) -> Bool { position(of: key.stringValue) != nil }

    private func lookup(_ key: Key) -> JSONValue? { position(of: key.stringValue).map { members[$0].1 } }

    private func require(_ key: Key) throws -> JSONValue {
        guard let value = lookup(key) else {
            throw DecodingError.keyNotFound(
                key,
                .init(
                    codingPath: codingPath,
                    debugDescription: "missing key \"\(key.stringValue)\""))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try require(key) { return true }
        return false
    }

    /// Every decode requirement (scalars included) is met by this generic one.
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let value = try require(key)
        return try decoder.scalar(type, value, key: key) ?? decoder.child(type, value, key: key)
    }
    // Int128 and UInt128 have default requirements (that throw) in the standard library, which
    // win over the generic one: they are written out.
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 {
        try decoder.integer(type, require(key), key: key)
    }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 {
        try decoder.integer(type, require(key), key: key)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = lookup(key) else { return nil }
        if case .null = value { return nil }
        return try decoder.scalar(type, value, key: key) ?? decoder.child(type, value, key: key)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try JSONDecoderImpl(value: require(key), parent: decoder, key: key, state: decoder.state)
            .container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONDecoderImpl(value: require(key), parent: decoder, key: key, state: decoder.state).unkeyedContainer()
    }

    /// The decoder of the `super` member; null if there is none, like Foundation.
    func superDecoder() throws -> any Decoder {
        JSONDecoderImpl(
            value: position(of: "super").map { members[$0].1 } ?? .null,
            parent: decoder, key: StringKey.superKey, state: decoder.state)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONDecoderImpl(value: lookup(key) ?? .null, parent: decoder, key: key, state: decoder.state)
    }
}

struct UnkeyedDecoder: UnkeyedDecodingContainer {
    let decoder: JSONDecoderImpl
    let elements: [JSONValue]
    private(set) var currentIndex = 0

    init(decoder: JSONDecoderImpl, elements: [JSONValue]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// `body` applied to the next element, which is then consumed if `body` succeeded.
    private mutating func next<R>(
        _ type: Any.Type,
        _ body: (JSONDecoderImpl, JSONValue, IndexKey) throws -> R
    ) throws -> R {
        guard !isAtEnd else { throw atEnd(type) }
        let result = try body(decoder, elements[currentIndex], IndexKey(currentIndex))
        currentIndex += 1
        return result
    }

    private func atEnd(_ type: Any.Type) -> DecodingError {
        .valueNotFound(
            type,
            .init(
                codingPath: codingPath + [IndexKey(currentIndex)],
                debugDescription: "expected a value, found the end of the array"))
    }

    /// True, consuming the element, if the next element is null.
    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw atEnd(Any?.self) }
        guard case .null = elements[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    /// Every decode requirement (scalars included) is met by this generic one.
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next(type) { try $0.scalar(type, $1, key: $2) ?? $0.child(type, $1, key: $2) }
    }
    // Int128 and UInt128 have default requirements (that throw) in the standard library, which
    // win over the generic one: they are written out.
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try next(type) { try $0.integer(type, $1, key: $2) } }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 {
        try next(type) { try $0.integer(type, $1, key: $2) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type)
        throws -> KeyedDecodingContainer<NestedKey>
    {
        try next(type) { decoder, value, key in
            try JSONDecoderImpl(value: value, parent: decoder, key: key, state: decoder.state).container(keyedBy: type)
        }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next([Any].self) { decoder, value, key in
            try JSONDecoderImpl(value: value, parent: decoder, key: key, state: decoder.state).unkeyedContainer()
        }
    }

    mutating func superDecoder() throws -> any Decoder {
        try next(Any.self) { decoder, value, key in
            JSONDecoderImpl(value: value, parent: decoder, key: key, state: decoder.state)
        }
    }
}
