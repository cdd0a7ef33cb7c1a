import DNS
import Datapath
import Policy
import SluiceIO
import SluiceModel
import SluiceSync

/// The toFQDNs side of the datapath (cilium-semantics 4.5): each learned IPv4 address gets an
/// FQDN identity, its /32 in the ipcache and, for every endpoint whose `toFQDNs` rule matches one
/// of its names, policy entries on the rule's ports. Policy entries go in before the ipcache
/// entry and come out after it, so a packet never sees an identity without its allowances.
///
/// One lock serialises the FQDN service thread (`install`, `remove`, `hasConnections`) and the
/// agent's control thread (`sync` after a policy change), so a full sync never deletes what an
/// answer just installed. IPv6 answers are learned in the cache but not enforced (the datapath
/// is IPv4 only).
public final class FQDNPolicyWriter: FQDNDatapath, @unchecked Sendable {
    private let datapath: Datapath
    private let lock = Lock()
    private var snapshot: PolicySnapshot
    private var hostIPv4: [UInt32]
    /// Learned address (network order) -> its identity and the names it was learned for.
    private var learned: [UInt32: (identity: UInt32, names: Set<String>)] = [:]
    /// Identities given out, for reuse after removal.
    private var nextIdentity = FQDNIdentity.base
    private var freeIdentities: [UInt32] = []
    /// Destinations of open tracked connections, refreshed at most once a sweep.
    private var openDestinations: (atNs: UInt64, set: Set<UInt32>) = (0, [])

    /// Learned addresses whose last write failed: the next answer for any of their names writes
    /// them again.
    private var unwritten: Set<UInt32> = []

    /// Errors writing maps (the answer is released anyway and the failure counted).
    public private(set) var writeFailures = 0
    /// Addresses of answers already in the maps for the answer's name (same identity, same policy
    /// entries, same /32): nothing was written for them.
    public private(set) var skippedWrites = 0
    /// Expired connection-tracking entries deleted, and walks that failed.
    public private(set) var connectionsCollected = 0
    public private(set) var connectionSweepFailures = 0

    /// Reuses the FQDN identities an earlier run left in the pinned ipcache, so restarting keeps
    /// every learned address's identity (and its policy entries) unchanged. Throws when the
    /// ipcache cannot be read (identities handed out again could name two addresses).
    public init(datapath: Datapath, snapshot: PolicySnapshot, hostIPv4: [UInt32]) throws {
        self.datapath = datapath
        self.snapshot = snapshot
        self.hostIPv4 = hostIPv4
        for entry in try datapath.ipcacheContents() where entry.prefixLength == 32 {
            guard FQDNIdentity.contains(entry.identity) else { continue }
            learned[entry.ipv4] = (entry.identity, [])
            nextIdentity = max(nextIdentity, entry.identity + 1)
        }
    }

    /// The node's own addresses changed (`--endpoints-from=kubernetes`): the next `sync` writes
    /// them, and no answer gives one of them an FQDN identity.
    public func setHostIPv4(_ addresses: [UInt32]) {
        lock.lock()
        defer { lock.unlock() }
        hostIPv4 = addresses
    }

    /// Makes the L3/L4 maps equal to `snapshot` plus every learned address. Control thread.
    public func sync(_ snapshot: PolicySnapshot) throws {
        try install(snapshot) { policy, ipcache in
            try datapath.syncL3L4(snapshot, hostIPv4: hostIPv4, extraPolicy: policy, extraIPCache: ipcache)
        }
    }

    /// Runs one policy install with the lock held, so that no answer writes the maps meanwhile:
    /// `body` gets the entries every learned address needs under `snapshot` (policy entries and
    /// ipcache /32s) and writes the maps. Answers learned afterwards use `snapshot`. When `body`
    /// throws, the previous snapshot and learned addresses are put back, so answers keep using
    /// the policy in force. Control thread.
    func install<T>(
        _ snapshot: PolicySnapshot,
        _ body: (_ extraPolicy: [PolicyMapKey: PolicyMapAction], _ extraIPCache: [IPCacheEntry]) throws -> T
    )
        rethrows -> T
    {
        lock.lock()
        defer { lock.unlock() }
        let saved = (snapshot: self.snapshot, learned: learned, free: freeIdentities)
        self.snapshot = snapshot
        // Addresses that became in-cluster (a pod got the IP) lose their FQDN identity.
        for (ip, entry) in learned where snapshot.isClusterIPv4(ip) {
            learned[ip] = nil
            freeIdentities.append(entry.identity)
        }
        let savedUnwritten = unwritten
        var policy: [PolicyMapKey: PolicyMapAction] = [:]
        var ipcache: [IPCacheEntry] = []
        for (ip, entry) in learned where !entry.names.isEmpty {
            policy.merge(snapshot.fqdnPolicyEntries(identity: entry.identity, names: Array(entry.names))) { a, _ in a }
            ipcache.append(IPCacheEntry(ipv4: ip, prefixLength: 32, identity: entry.identity))
        }
        do {
            let result = try body(policy, ipcache)
            unwritten.removeAll()  // every learned address was written with `snapshot`
            return result
        } catch {
            self.snapshot = saved.snapshot
            learned = saved.learned
            freeIdentities = saved.free
            unwritten = savedUnwritten
            throw error
        }
    }

    /// Writes the policy entries and the /32 of each address not yet in the maps for `name`. An
    /// address already learned for `name` (and written since the last failure) is skipped: its
    /// entries and /32 depend only on its identity, its names and the snapshot, all unchanged, and
    /// a policy sync rewrites every learned address. Its lifetime is the cache's (TTLs are not in
    /// the maps; the caller refreshes the cache first), so a repeated answer writes nothing and
    /// does not invalidate the workers' steering caches.
    public func install(ips: [IPAddress], for name: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        var ok = true
        for case .v4(let v4) in ips {
            let ip = v4.networkOrder
            if snapshot.isClusterIPv4(ip) || hostIPv4.contains(ip) { continue }
            if let known = learned[ip], known.names.contains(name), !unwritten.contains(ip) {
                skippedWrites += 1
                continue
            }
            var entry = learned[ip] ?? (allocateIdentity(), [])
            entry.names.insert(name)
            learned[ip] = entry
            do {
                try datapath.writePolicyEntries(
                    snapshot.fqdnPolicyEntries(
                        identity: entry.identity,
                        names: Array(entry.names)))
                try datapath.writeIPCache(IPCacheEntry(ipv4: ip, prefixLength: 32, identity: entry.identity))
                unwritten.remove(ip)
            } catch {
                writeFailures += 1
                unwritten.insert(ip)
                ok = false
            }
        }
        return ok
    }

    /// Withdraws `name` from `ips`: an address left without names loses its ipcache entry, then
    /// its policy entries; one still held by other names keeps only their entries.
    public func remove(ips: [IPAddress], for name: String) {
        lock.lock()
        defer { lock.unlock() }
        for case .v4(let v4) in ips {
            let ip = v4.networkOrder
            guard var entry = learned[ip], entry.names.contains(name) else { continue }
            let before = snapshot.fqdnPolicyEntries(identity: entry.identity, names: Array(entry.names))
            entry.names.remove(name)
            do {
                if entry.names.isEmpty {
                    try datapath.deleteIPCache(ipv4: ip, prefixLength: 32)
                    learned[ip] = nil
                    unwritten.remove(ip)
                    freeIdentities.append(entry.identity)
                    try datapath.deletePolicyEntries(Array(before.keys))
                } else {
                    learned[ip] = entry
                    let after = snapshot.fqdnPolicyEntries(identity: entry.identity, names: Array(entry.names))
                    try datapath.deletePolicyEntries(before.keys.filter { after[$0] == nil })
                }
            } catch {
                writeFailures += 1
            }
        }
    }

    public func hasConnections(to ip: IPAddress) -> Bool {
        guard case .v4(let v4) = ip else { return false }
        lock.lock()
        defer { lock.unlock() }
        let now = SystemClock.monotonicNs()
        if now &- openDestinations.atNs > 500_000_000 {
            openDestinations = (now, (try? datapath.openConnectionDestinations()) ?? [])
        }
        return openDestinations.set.contains(v4.networkOrder)
    }

    /// Deletes expired `sluice_ct` entries; the walk also refreshes the open destinations. The
    /// walk touches no state of this writer, so it runs outside the lock (a policy sync on the
    /// control thread does not wait for it).
    public func collectConnections() {
        let sweep = try? datapath.sweepConnections()
        lock.lock()
        defer { lock.unlock() }
        guard let sweep else {
            connectionSweepFailures += 1
            return
        }
        connectionsCollected += sweep.removed
        openDestinations = (SystemClock.monotonicNs(), sweep.openDestinations)
    }

    /// The addresses learned, with their identities and names (for `sluice fqdn` and tests).
    public var learnedAddresses: [(ipv4: UInt32, identity: UInt32, names: [String])] {
        lock.lock()
        defer { lock.unlock() }
        return learned.map { ($0.key, $0.value.identity, $0.value.names.sorted()) }.sorted { $0.identity < $1.identity }
    }

    private func allocateIdentity() -> UInt32 {
        if let reused = freeIdentities.popLast() { return reused }
        defer { nextIdentity += 1 }
        return nextIdentity
    }
}
