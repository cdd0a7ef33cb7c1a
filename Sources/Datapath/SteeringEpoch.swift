internal import CSluice

/// What the proxies' steering caches need to know about the maps that decide steering
/// (`sluice_endpoints`, `sluice_l7_ports`, `sluice_ipcache`): a counter bumped after every write to
/// them, and when the last write ended (CLOCK_MONOTONIC, the clock of `bpf_ktime_get_ns`).
///
/// tc's steering entry for a connection or datagram is a function of (source IP, destination
/// IP, destination port, protocol) and those maps only, so a cached entry is exact while the
/// counter is unchanged — provided the entry was recorded after the last write (`created_ns` >
/// `lastChangeNs`): a SYN tc handled before a write but accepted after it carries the old state.
///
/// Written by the agent's threads (policy, endpoints) and the DNS workers (learned toFQDNs
/// addresses), read by every worker; both words are atomics and the time never moves back.
///
/// It also moves the DNS deny cache's generation (`sluice_dns_gen`, bpf/include/sluice_dns.h)
/// once attached to it (`attachDenyGeneration`): after the counter on every change, and on its own
/// after every policy snapshot the proxy workers took (`denyPolicyChanged`).
public final class SteeringEpoch: @unchecked Sendable {
    private let words: UnsafeMutablePointer<UInt64>
    /// The deny generation word in the mmap of `sluice_dns_gen`, or nil.
    private var denyGeneration: UnsafeMutablePointer<UInt64>?

    public init() {
        words = .allocate(capacity: 2)
        words.initialize(repeating: 0, count: 2)
    }

    deinit { words.deallocate() }

    /// Call after each write to a steering-deciding map (also after a failed one).
    public func changed() {
        CSluice_atomic_max_release_u64(words + 1, CSluice_monotonic_ns())
        _ = CSluice_atomic_fetch_add_u64(words, 1)
        if let denyGeneration { _ = CSluice_atomic_fetch_add_u64(denyGeneration, 1) }
    }

    /// Makes `word` (the mmap of `sluice_dns_gen`) the deny generation and moves it once, so no
    /// entry an earlier run inserted is used. Call once, before any reader.
    func attachDenyGeneration(_ word: UnsafeMutablePointer<UInt64>) {
        denyGeneration = word
        _ = CSluice_atomic_fetch_add_u64(word, 1)
    }

    /// The proxy workers decide with a new policy snapshot: deny cache entries of the old one are
    /// stale from now on.
    public func denyPolicyChanged() {
        if let denyGeneration { _ = CSluice_atomic_fetch_add_u64(denyGeneration, 1) }
    }

    /// The deny generation now (0 when none is attached).
    @inline(__always)
    public var denyGenerationValue: UInt64 {
        guard let denyGeneration else { return 0 }
        return CSluice_atomic_load_acquire_u64(denyGeneration)
    }

    /// The counter, then the end of the last write (read in that order, so a reader that sees a
    /// new counter sees at least its write's time).
    @inline(__always)
    public var current: (epoch: UInt64, lastChangeNs: UInt64) {
        let epoch = CSluice_atomic_load_acquire_u64(words)
        return (epoch, CSluice_atomic_load_acquire_u64(words + 1))
    }
}
