internal import CLibbpf
public import CSluiceShared
public import SluiceModel

#if canImport(Glibc)
    internal import Glibc
    internal import SluiceIO
#endif

/// The agent's side of connection tracking (`sluice_ct`, `bpf/lib/conntrack.h`): the lifetime
/// rule the datapath applies, the garbage collection of expired entries, and the
/// open-connection question the toFQDNs sweep asks. Any thread (each call is its own walk).
extension Datapath {
    /// What one walk of `sluice_ct` found.
    public struct ConnectionSweep: Sendable, Equatable {
        /// Expired entries deleted.
        public var removed: Int
        /// Destination addresses (network order) of live connections that saw no FIN or RST.
        public var openDestinations: Set<UInt32>
    }

    /// Seconds an entry of a `proto` connection with `flags` lives after its last packet: the
    /// datapath's `sluice_ct_lifetime`, from the same constants (Cilium's defaults).
    public static func connectionLifetime(proto: UInt8, flags: UInt32) -> UInt32 {
        guard proto == UInt8(IPPROTO_TCP) else { return UInt32(SLUICE_CT_LIFETIME_ANY) }
        let closing = UInt32(SLUICE_CT_TX_CLOSING | SLUICE_CT_RX_CLOSING)
        if flags & closing == closing { return UInt32(SLUICE_CT_LIFETIME_TCP_CLOSE) }
        if flags & UInt32(SLUICE_CT_ESTABLISHED) == 0 { return UInt32(SLUICE_CT_LIFETIME_TCP_SYN) }
        return UInt32(SLUICE_CT_LIFETIME_TCP)
    }

    /// The datapath's clock in seconds: CLOCK_MONOTONIC_COARSE (`bpf_ktime_get_coarse_ns`).
    public static func monotonicSeconds() -> UInt32 {
        UInt32(truncatingIfNeeded: SystemClock.coarseMonotonicNs() / 1_000_000_000)
    }

    /// Whether `entry` of a `proto` connection is live at `nowSeconds`, as the datapath sees it
    /// (an entry refreshed a second "in the future" by another CPU is live).
    public static func isLive(_ entry: sluice_ct_entry, proto: UInt8, nowSeconds: UInt32) -> Bool {
        let age = Int32(bitPattern: nowSeconds &- entry.seen_s)
        return Int64(age) <= Int64(connectionLifetime(proto: proto, flags: entry.flags))
    }

    /// Walks `sluice_ct` once: deletes the entries that expired (each read again just before
    /// its delete, so one a packet renewed in between stays) and returns the destinations of
    /// the live, open ones. Two syscalls per entry, plus two per expired entry.
    public func sweepConnections(nowSeconds: UInt32 = Datapath.monotonicSeconds()) throws -> ConnectionSweep {
        let fd = try tcObject.mapFD(named: "sluice_ct")
        let map = try dumpMap(fd, "sluice_ct", key: sluice_tuple(), value: sluice_ct_entry())
        var sweep = ConnectionSweep(removed: 0, openDestinations: [])
        for (tuple, entry) in map {
            if Datapath.isLive(entry, proto: tuple.proto, nowSeconds: nowSeconds) {
                if entry.flags & UInt32(SLUICE_CT_CLOSED) == 0 { sweep.openDestinations.insert(tuple.dst_ip4) }
                continue
            }
            var key = tuple
            var current = sluice_ct_entry()
            guard bpf_map_lookup_elem(fd, &key, &current) == 0,
                !Datapath.isLive(current, proto: tuple.proto, nowSeconds: nowSeconds)
            else { continue }
            if try deleteTolerant(fd, &key, "sluice_ct") { sweep.removed += 1 }
        }
        return sweep
    }

    /// Destination addresses (network order) of tracked connections still open: live (younger
    /// than their lifetime) and without a FIN or RST seen. One walk of `sluice_ct`, no deletes.
    public func openConnectionDestinations(nowSeconds: UInt32 = Datapath.monotonicSeconds()) throws -> Set<UInt32> {
        let map = try dumpMap(
            try tcObject.mapFD(named: "sluice_ct"), "sluice_ct", key: sluice_tuple(),
            value: sluice_ct_entry())
        var result = Set<UInt32>()
        for (tuple, entry) in map where entry.flags & UInt32(SLUICE_CT_CLOSED) == 0 {
            if Datapath.isLive(entry, proto: tuple.proto, nowSeconds: nowSeconds) { result.insert(tuple.dst_ip4) }
        }
        return result
    }

    /// The entry of `tuple` in `sluice_ct`, or nil. One syscall.
    public func connection(_ tuple: sluice_tuple) -> sluice_ct_entry? {
        guard let fd = try? tcObject.mapFD(named: "sluice_ct") else { return nil }
        var key = tuple
        var value = sluice_ct_entry()
        guard bpf_map_lookup_elem(fd, &key, &value) == 0 else { return nil }
        return value
    }

    /// Writes the entry of `tuple` (tests age an entry through it). One syscall.
    public func setConnection(_ tuple: sluice_tuple, _ entry: sluice_ct_entry) throws {
        var key = tuple
        var value = entry
        try DatapathError.checkMapCall(
            bpf_map_update_elem(try tcObject.mapFD(named: "sluice_ct"), &key, &value, UInt64(BPF_ANY)),
            "bpf_map_update_elem", "sluice_ct")
    }

    /// Every tracked connection (one walk of the pinned `sluice_ct`), sorted by source then destination.
    public func conntrackEntries() throws -> [ConntrackEntry] {
        let map = try dumpMap(
            try tcObject.mapFD(named: "sluice_ct"), "sluice_ct", key: sluice_tuple(),
            value: sluice_ct_entry())
        func ip(_ v: UInt32) -> String { IPv4Address(networkOrder: v).description }
        let names: [(UInt32, String)] = [
            (UInt32(SLUICE_CT_SEEN_BY_FROM_POD), "from-pod"), (UInt32(SLUICE_CT_SEEN_BY_TO_POD), "to-pod"),
            (UInt32(SLUICE_CT_CLOSED), "closed"), (UInt32(SLUICE_CT_FQDN), "fqdn"),
            (UInt32(SLUICE_CT_ESTABLISHED), "established"), (UInt32(SLUICE_CT_TX_CLOSING), "tx-closing"),
            (UInt32(SLUICE_CT_RX_CLOSING), "rx-closing"),
        ]
        return map.map { tuple, entry in
            let proto =
                tuple.proto == UInt8(IPPROTO_TCP)
                ? "TCP" : tuple.proto == UInt8(IPPROTO_UDP) ? "UDP" : String(tuple.proto)
            return ConntrackEntry(
                proto: proto, source: ip(tuple.src_ip4), destination: ip(tuple.dst_ip4),
                sourcePort: tuple.src_port, destinationPort: tuple.dst_port, createdNs: entry.created_ns,
                flags: names.filter { UInt32(entry.flags) & $0.0 != 0 }.map(\.1))
        }.sorted {
            ($0.source, $0.sourcePort, $0.destination, $0.destinationPort) < (
                $1.source, $1.sourcePort, $1.destination, $1.destinationPort
            )
        }
    }
}
