import SluiceJSON

/// The informer's store: every object of one resource by key (`namespace/name`, or `name` for
/// cluster-scoped kinds), as its JSON, and the resourceVersion the store is at.
///
/// A relist (after 410 Gone or a reconnect that cannot resume) does not clear the store: the new
/// list's pages are gathered apart (`beginRelist`, `addListed`) and replace the store only once
/// the list is complete (`finishRelist`), which answers the deltas against the old state. Until
/// then the last complete state stays in force; an abandoned relist (`abandonRelist`) changes
/// nothing.
public struct KubeStore: Sendable {
    /// One change the store reports.
    public enum Delta: Equatable, Sendable {
        case upsert(key: String, object: JSONValue)
        case delete(key: String)
    }

    public private(set) var objects: [String: JSONValue] = [:]
    public private(set) var resourceVersion: String?
    private var relisting: [String: JSONValue]?

    public init() {}

    /// Whether a relist is gathering objects.
    public var isRelisting: Bool { relisting != nil }

    /// `namespace/name` or `name` from an object's metadata; nil without a name.
    public static func key(of object: JSONValue) -> String? {
        guard let name = object["metadata"]?["name"]?.stringValue, !name.isEmpty else { return nil }
        if let namespace = object["metadata"]?["namespace"]?.stringValue, !namespace.isEmpty {
            return namespace + "/" + name
        }
        return name
    }

    public mutating func beginRelist() { relisting = [:] }

    public mutating func addListed(_ items: [JSONValue]) {
        for item in items {
            if let key = Self.key(of: item) { relisting?[key] = item }
        }
    }

    public mutating func abandonRelist() { relisting = nil }

    /// Makes the gathered list the store's state at `resourceVersion`; the deltas from the
    /// previous state, in key order (objects whose JSON did not change give none).
    @discardableResult
    public mutating func finishRelist(resourceVersion: String) -> [Delta] {
        guard let fresh = relisting else { return [] }
        relisting = nil
        var deltas: [Delta] = []
        for key in Set(objects.keys).union(fresh.keys).sorted() {
            switch (objects[key], fresh[key]) {
            case (let old?, let new?) where old != new: deltas.append(.upsert(key: key, object: new))
            case (nil, let new?): deltas.append(.upsert(key: key, object: new))
            case (_?, nil): deltas.append(.delete(key: key))
            default: break
            }
        }
        objects = fresh
        self.resourceVersion = resourceVersion
        return deltas
    }

    /// Applies one watch event; the delta it makes (nil for a bookmark, an error or a no-op).
    public mutating func apply(_ event: WatchEvent) -> Delta? {
        func version(_ object: JSONValue) {
            if let rv = object["metadata"]?["resourceVersion"]?.stringValue { resourceVersion = rv }
        }
        switch event {
        case .added(let object), .modified(let object):
            version(object)
            guard let key = Self.key(of: object) else { return nil }
            if objects[key] == object { return nil }
            objects[key] = object
            return .upsert(key: key, object: object)
        case .deleted(let object):
            version(object)
            guard let key = Self.key(of: object), objects.removeValue(forKey: key) != nil else { return nil }
            return .delete(key: key)
        case .bookmark(let rv):
            resourceVersion = rv
            return nil
        case .error:
            return nil
        }
    }
}

/// Capped exponential backoff with jitter: `initial`, doubling up to `maximum`; `reset` after a
/// success. `jitter` (0...1) takes up to that fraction off each delay so many agents do not
/// reconnect in step.
public struct Backoff: Sendable {
    public var initial: Double
    public var maximum: Double
    public var jitter: Double
    private var current: Double
    private var random: UInt64

    public init(initial: Double = 0.2, maximum: Double = 30, jitter: Double = 0.2, seed: UInt64 = 0x9E37_79B9_7F4A_7C15)
    {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self.current = initial
        self.random = seed | 1
    }

    /// The next delay in seconds.
    public mutating func next() -> Double {
        let base = current
        current = min(current * 2, maximum)
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        let fraction = Double(random % 1_000_000) / 1_000_000
        return base * (1 - jitter * fraction)
    }

    public mutating func reset() { current = initial }
}
