/// The agent's toFQDNs cache file (`<state>/fqdn.json`): written by the agent's `FQDNCache`
/// (within a second of a change, and read back at start), read by `sluice observe` for the names
/// of addresses. `{"version":1,"names":{"name.":{"1.2.3.4":{"expiresNs":..,"lastSeenNs":..}}}}`.
public struct FQDNCacheFile: Codable, Sendable, Equatable {
    /// One learned address of a name (CLOCK_REALTIME nanoseconds); also the agent's in-memory
    /// entry (`FQDNCache.Entry`).
    public struct Item: Codable, Sendable, Equatable {
        /// When the address stops being valid for new connections.
        public var expiresNs: UInt64
        /// The last answer that carried it (LRU order for the per-name cap).
        public var lastSeenNs: UInt64

        public init(expiresNs: UInt64, lastSeenNs: UInt64) {
            self.expiresNs = expiresNs
            self.lastSeenNs = lastSeenNs
        }
    }

    public var version: Int
    /// Name (lower-case, with the trailing dot) → address text → item.
    public var names: [String: [String: Item]]

    public init(version: Int = 1, names: [String: [String: Item]] = [:]) {
        self.version = version
        self.names = names
    }
}
