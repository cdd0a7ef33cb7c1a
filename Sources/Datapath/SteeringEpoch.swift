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
public final class SteeringEpoch: @unchecked Sendable {
    private let words: UnsafeMutablePointer<UInt64>

    public init() {
        words = .allocate(capacity: 2)
        words.initialize(repeating: 0, count: 2)
    }

    deinit { words.deallocate() }

    /// Call after each write to a steering-deciding map (also after a failed one).
    public func changed() {
        CSluice_atomic_max_release_u64(words + 1, CSluice_monotonic_ns())
        _ = CSluice_atomic_fetch_add_u64(words, 1)
    }

    /// The counter, then the end of the last write (read in that order, so a reader that sees a
    /// new counter sees at least its write's time).
    @inline(__always)
    public var current: (epoch: UInt64, lastChangeNs: UInt64) {
        let epoch = CSluice_atomic_load_acquire_u64(words)
        return (epoch, CSluice_atomic_load_acquire_u64(words + 1))
    }
}
