import DNS
import Flows
import Glibc
import SluiceIO
import SluiceJSON
import SluiceModel
import SluiceSync

/// The node-wide cache of names learned from DNS answers for `toFQDNs` selectors: name -> IP ->
/// (expiry, last seen). A lookup by any pod fills it for every pod (cilium-semantics.md 1.8).
///
/// Arithmetic (cilium-semantics.md 4.5): an IP's expiry is the lookup time plus the answer's TTL
/// (the lowest on the CNAME chain) raised to `minTTL`, and never moves backwards when a shorter
/// answer arrives; a name keeps at most `maxIPsPerName` IPs, the least recently seen evicted
/// first; over all names at most `maxEntries` IPs are kept (`evictBeyondCap`). Expired IPs leave
/// only when `sweep` finds no connection using them.
///
/// Times are wall-clock nanoseconds (CLOCK_REALTIME) so expiries survive a restart. Thread-safe:
/// every method takes the cache's lock; the FQDN service thread is the only writer in the agent.
public final class FQDNCache: @unchecked Sendable {
    /// What the cache knows about one IP of one name: the cache file's item, kept as it is written.
    public typealias Entry = FQDNCacheFile.Item

    /// Lowest TTL, seconds (`--tofqdns-min-ttl`).
    public let minTTL: UInt32
    /// Most IPs per name (`--tofqdns-endpoint-max-ip-per-hostname`).
    public let maxIPsPerName: Int

    /// Most IPs over all names (`--fqdn-max-entries`); `evictBeyondCap` enforces it.
    public let maxEntries: Int

    private var names: [String: [IPAddress: Entry]] = [:]
    /// IPs over all names (one per name and IP).
    private var total = 0
    private let lock = Lock()
    /// Set by every change, cleared by `takeDirty()` (the persister's "on change").
    private var dirty = false

    public init(minTTL: UInt32 = 0, maxIPsPerName: Int = 1000, maxEntries: Int = 65536) {
        self.minTTL = minTTL
        self.maxIPsPerName = max(1, maxIPsPerName)
        self.maxEntries = max(1, maxEntries)
    }

    /// IPs over all names.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }

    /// When more than `maxEntries` IPs are cached over all names (many names, each under its
    /// own cap), evicts the least recently seen ones of any name down to 15/16 of the cap, so
    /// the sort runs once per cap/16 new entries, not per answer. Returns what was evicted, per
    /// name (to remove from the datapath). The answer just learned is the most recently seen,
    /// so it stays.
    public func evictBeyondCap() -> [String: [IPAddress]] {
        lock.lock()
        defer { lock.unlock() }
        guard total > maxEntries else { return [:] }
        var all: [(name: String, ip: IPAddress, entry: Entry)] = []
        all.reserveCapacity(total)
        for (name, entries) in names {
            for (ip, entry) in entries { all.append((name, ip, entry)) }
        }
        all.sort { ($0.entry.lastSeenNs, $0.entry.expiresNs) < ($1.entry.lastSeenNs, $1.entry.expiresNs) }
        let target = maxEntries - maxEntries / 16
        var evicted: [String: [IPAddress]] = [:]
        for victim in all.prefix(total - target) {
            names[victim.name]?[victim.ip] = nil
            if names[victim.name]?.isEmpty == true { names[victim.name] = nil }
            evicted[victim.name, default: []].append(victim.ip)
        }
        total = target
        dirty = true
        return evicted
    }

    /// Records an answer for `name` (lower-cased, trailing dot) seen at `nowNs` with `ttl`
    /// seconds. Returns the IPs evicted by the per-name cap (to remove from the datapath).
    @discardableResult
    public func update(name: String, ips: [IPAddress], ttl: UInt32, nowNs: UInt64) -> [IPAddress] {
        guard !ips.isEmpty else { return [] }
        let expires = nowNs &+ UInt64(max(ttl, minTTL)) * 1_000_000_000
        lock.lock()
        defer { lock.unlock() }
        var entries = names[name] ?? [:]
        for ip in ips {
            let old = entries[ip]
            entries[ip] = Entry(expiresNs: max(old?.expiresNs ?? 0, expires), lastSeenNs: nowNs)
        }
        var evicted: [IPAddress] = []
        if entries.count > maxIPsPerName {
            let order = entries.sorted {
                ($0.value.lastSeenNs, $0.value.expiresNs) < ($1.value.lastSeenNs, $1.value.expiresNs)
            }
            for (ip, _) in order.prefix(entries.count - maxIPsPerName) {
                entries[ip] = nil
                evicted.append(ip)
            }
        }
        total += entries.count - (names[name]?.count ?? 0)
        names[name] = entries
        dirty = true
        return evicted
    }

    /// Removes every IP whose expiry has passed and that `inUse` does not claim (a connection
    /// still uses it). Returns what was removed, per name; names left empty are dropped.
    public func sweep(nowNs: UInt64, inUse: (IPAddress) -> Bool) -> [String: [IPAddress]] {
        lock.lock()
        defer { lock.unlock() }
        var removed: [String: [IPAddress]] = [:]
        for (name, entries) in names {
            var kept = entries
            for (ip, entry) in entries where entry.expiresNs <= nowNs && !inUse(ip) {
                kept[ip] = nil
                removed[name, default: []].append(ip)
            }
            if kept.count != entries.count {
                total -= entries.count - kept.count
                names[name] = kept.isEmpty ? nil : kept
            }
        }
        if !removed.isEmpty { dirty = true }
        return removed
    }

    /// Every IP whose expiry has passed, per name (kept or not: zombies included).
    public func expired(nowNs: UInt64) -> [String: [IPAddress]] {
        lock.lock()
        defer { lock.unlock() }
        var result: [String: [IPAddress]] = [:]
        for (name, entries) in names {
            for (ip, entry) in entries where entry.expiresNs <= nowNs {
                result[name, default: []].append(ip)
            }
        }
        return result
    }

    /// The IPs of `name` and their entries.
    public func entries(of name: String) -> [IPAddress: Entry] {
        lock.lock()
        defer { lock.unlock() }
        return names[name] ?? [:]
    }

    /// Every name with at least one IP, sorted.
    public var allNames: [String] {
        lock.lock()
        defer { lock.unlock() }
        return names.keys.sorted()
    }

    /// IPs of `name` still valid at `nowNs`.
    public func validIPs(of name: String, nowNs: UInt64) -> [IPAddress] {
        entries(of: name).filter { $0.value.expiresNs > nowNs }.map(\.key)
    }

    /// Whether anything changed since the last call (and clears the flag).
    public func takeDirty() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let was = dirty
        dirty = false
        return was
    }

    // MARK: persistence

    /// The whole cache as JSON (sorted keys, stable).
    public func encoded() throws -> [UInt8] {
        lock.lock()
        var file = FQDNCacheFile()
        for (name, entries) in names {
            var items: [String: Entry] = [:]
            for (ip, entry) in entries { items[ip.description] = entry }
            file.names[name] = items
        }
        lock.unlock()
        return try JSON.encode(file, sortedKeys: true)
    }

    /// Replaces the content with a file written by `encoded()`. Entries already expired at
    /// `nowNs` are kept (a connection may still use them; the next sweep decides). Unreadable
    /// addresses are skipped. Returns the number of IPs loaded.
    @discardableResult
    public func load(_ data: [UInt8]) throws -> Int {
        let file = try JSON.decode(FQDNCacheFile.self, from: data)
        var loaded: [String: [IPAddress: Entry]] = [:]
        var count = 0
        for (name, items) in file.names {
            var entries: [IPAddress: Entry] = [:]
            for (text, entry) in items {
                guard let ip = IPAddress(text) else { continue }
                entries[ip] = entry
                count += 1
            }
            if !entries.isEmpty { loaded[name] = entries }
        }
        lock.lock()
        names = loaded
        total = count
        dirty = false
        lock.unlock()
        return count
    }

    /// Writes `encoded()` to `path` atomically (temporary file + rename).
    public func save(to path: String) throws {
        try Files.writeAtomically(path, encoded())
    }
}
