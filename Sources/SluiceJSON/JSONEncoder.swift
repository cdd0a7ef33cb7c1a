// The `Encoder` behind `JSON.encode`: Encodable values to a `JSONValue` tree.
//
// Containers write into reference nodes, so a nested container or super encoder handed out
// earlier can still fill its part; the tree is resolved to a `JSONValue` at the end. Encoding the
// same key twice keeps the key's first position and the last value. Asking one encoder for a
// container of a different kind than it already has replaces the earlier one (Foundation traps).

/// A value under construction.
enum EncodedNode {
    case value(JSONValue)
    case array(ArrayNode)
    case object(ObjectNode)
    /// A super encoder's value, known only when encoding is over.
    case encoder(JSONEncoderImpl)

    func resolved() -> JSONValue {
        switch self {
        case .value(let value): return value
        case .array(let array): return .array(array.items.map { $0.resolved() })
        case .object(let object): return .object(object.members.map { ($0.0, $0.1.resolved()) })
        case .encoder(let encoder): return encoder.root?.resolved() ?? .object([])
        }
    }
}

/// A container under construction (`ArrayNode`, `ObjectNode`). Asking an encoder twice for a
/// container of one kind at one place hands out the node already there; a node of another kind is
/// replaced by a new one.
protocol ContainerNode: AnyObject {
    init()
    /// This container as a node.
    var node: EncodedNode { get }
    /// The container of this kind `node` holds, or nil.
    static func held(by node: EncodedNode?) -> Self?
}

extension ContainerNode {
    /// The container `node` holds, or a new one, handed to `store` to put in `node`'s place.
    static func reused(from node: EncodedNode?, orStore store: (EncodedNode) -> Void) -> Self {
        if let existing = held(by: node) { return existing }
        let created = Self()
        store(created.node)
        return created
    }
}

final class ArrayNode: ContainerNode {
    var items: [EncodedNode] = []

    var node: EncodedNode { .array(self) }

    static func held(by node: EncodedNode?) -> ArrayNode? {
        if case .array(let array)? = node { return array }
        return nil
    }
}

final class ObjectNode: ContainerNode {
    private(set) var members: [(String, EncodedNode)] = []
    /// Member positions by key, built once an object is too big to search.
    private var positions: [String: Int]?

    var node: EncodedNode { .object(self) }

    static func held(by node: EncodedNode?) -> ObjectNode? {
        if case .object(let object)? = node { return object }
        return nil
    }

    func get(_ key: String) -> EncodedNode? {
        position(of: key).map { members[$0].1 }
    }

    func set(_ key: String, _ node: EncodedNode) {
        if let position = position(of: key) {
            members[position].1 = node
        } else {
            positions?[key] = members.count
            members.append((key, node))
        }
    }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        if members.count < 16 { return members.firstIndex { $0.0 == key } }
        var built: [String: Int] = [:]
        for (offset, member) in members.enumerated() where built[member.0] == nil {
            built[member.0] = offset
        }
        positions = built
        return built[key]
    }
}

final class JSONEncoderImpl: Encoder, SingleValueEncodingContainer, CodingTreeNode {
    /// The encoder of the enclosing value and this value's key in it (nil: same path).
    let parent: JSONEncoderImpl?
    let key: (any CodingKey)?
    /// What was encoded; nil until a container or a value is asked for.
    var root: EncodedNode?

    init(parent: JSONEncoderImpl?, key: (any CodingKey)?) {
        self.parent = parent
        self.key = key
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedEncoder(encoder: self, object: .reused(from: root) { root = $0 }))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedEncoder(encoder: self, array: .reused(from: root) { root = $0 })
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    /// `value` encoded by a child encoder at `key`.
    func encodeChild<T: Encodable>(_ value: T, key: (any CodingKey)?) throws -> EncodedNode {
        let child = JSONEncoderImpl(parent: self, key: key)
        try value.encode(to: child)
        return child.root ?? .object(ObjectNode())
    }

    /// `value` encoded: a JSON scalar (Bool, String, Double, Float, a fixed-width integer) by
    /// itself, anything else by a child encoder at `key`. The one place the containers write
    /// scalars.
    func encoded<T: Encodable>(_ value: T, key: (any CodingKey)?) throws -> EncodedNode {
        // The type is compared first: no dynamic cast for the (many) values that are no scalar.
        if T.self == Bool.self, let bool = value as? Bool { return .value(.bool(bool)) }
        if T.self == String.self, let string = value as? String { return .value(.string(string)) }
        if T.self == Double.self, let double = value as? Double { return try number(double, key: key) }
        if T.self == Float.self, let float = value as? Float { return try number(float, key: key) }
        if T.self is any FixedWidthInteger.Type, let integer = value as? any FixedWidthInteger {
            return .value(.number(String(describing: integer)))
        }
        return try encodeChild(value, key: key)
    }

    /// A child encoder whose root is already `node`, for nested containers.
    func child(key: any CodingKey, root node: EncodedNode) -> JSONEncoderImpl {
        let child = JSONEncoderImpl(parent: self, key: key)
        child.root = node
        return child
    }

    // MARK: Scalars

    func number<T: BinaryFloatingPoint & LosslessStringConvertible>(_ value: T, key: (any CodingKey)?) throws
        -> EncodedNode
    {
        guard value.isFinite else {
            var path = codingPath
            if let key { path.append(key) }
            throw EncodingError.invalidValue(
                value,
                .init(
                    codingPath: path, debugDescription: "cannot encode \(value): JSON has no NaN or infinity"))
        }
        // Like Foundation: the shortest round-trip text, without a trailing ".0".
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .value(.number(text))
    }

    // MARK: SingleValueEncodingContainer

    func encodeNil() throws { root = .value(.null) }
    // The Bool, String, floating-point and integer requirements are all met by this generic
    // encode (`encoded` writes scalars itself).
    func encode<T: Encodable>(_ value: T) throws { root = try encoded(value, key: nil) }
    // Int128 and UInt128 have default requirements (that throw) in the standard library, which
    // win over the generic one: they are written out.
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func encode(_ value: Int128) throws { root = .value(.number(String(value))) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    func encode(_ value: UInt128) throws { root = .value(.number(String(value))) }
}

struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: JSONEncoderImpl
    let object: ObjectNode

    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ key: Key, _ value: JSONValue) { object.set(key.stringValue, .value(value)) }

    mutating func encodeNil(forKey key: Key) throws { set(key, .null) }
    /// Every encode requirement (scalars included) is met by this generic one.
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.set(key.stringValue, try encoder.encoded(value, key: key))
    }
    // Int128 and UInt128 have default requirements (that throw) in the standard library, which
    // win over the generic one: they are written out.
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: Int128, forKey key: Key) throws { set(key, .number(String(value))) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: UInt128, forKey key: Key) throws { set(key, .number(String(value))) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested: ObjectNode = member(key)
        return encoder.child(key: key, root: nested.node).container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested: ArrayNode = member(key)
        return encoder.child(key: key, root: nested.node).unkeyedContainer()
    }

    /// The container `key` holds, or a new one stored there.
    private func member<Node: ContainerNode>(_ key: Key) -> Node {
        .reused(from: object.get(key.stringValue)) { object.set(key.stringValue, $0) }
    }

    mutating func superEncoder() -> any Encoder { superEncoder(key: StringKey.superKey) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(key: key) }

    private func superEncoder(key: any CodingKey) -> any Encoder {
        let child = JSONEncoderImpl(parent: encoder, key: key)
        object.set(key.stringValue, .encoder(child))
        return child
    }
}

struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let encoder: JSONEncoderImpl
    let array: ArrayNode

    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { array.items.count }

    private func append(_ value: JSONValue) { array.items.append(.value(value)) }

    mutating func encodeNil() throws { append(.null) }
    /// Every encode requirement (scalars included) is met by this generic one.
    mutating func encode<T: Encodable>(_ value: T) throws {
        array.items.append(try encoder.encoded(value, key: IndexKey(count)))
    }
    // Int128 and UInt128 have default requirements (that throw) in the standard library, which
    // win over the generic one: they are written out.
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: Int128) throws { append(.number(String(value))) }
    @available(macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0, *)
    mutating func encode(_ value: UInt128) throws { append(.number(String(value))) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        appended(ObjectNode()).container(keyedBy: NestedKey.self)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        appended(ArrayNode()).unkeyedContainer()
    }

    /// Appends `nested` as the next item; the child encoder that fills it.
    private func appended(_ nested: some ContainerNode) -> JSONEncoderImpl {
        let child = encoder.child(key: IndexKey(count), root: nested.node)
        array.items.append(nested.node)
        return child
    }

    mutating func superEncoder() -> any Encoder {
        let child = JSONEncoderImpl(parent: encoder, key: IndexKey(count))
        array.items.append(.encoder(child))
        return child
    }
}
