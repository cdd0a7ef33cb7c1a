internal import CLibbpf
internal import CSluiceShared
internal import Glibc

extension Datapath {
    /// One `sluice_ct` entry as `sluice bpf ct list` shows it.
    public struct ConntrackEntry: Sendable, Equatable, Codable {
        /// `TCP` or `UDP` (or the protocol number).
        public var proto: String
        public var source: String
        public var destination: String
        public var sourcePort: UInt16
        public var destinationPort: UInt16
        /// CLOCK_MONOTONIC nanoseconds of the first packet.
        public var createdNs: UInt64
        /// Flag names: `from-pod`, `to-pod`, `closed`, `fqdn`.
        public var flags: [String]

        public init(proto: String, source: String, destination: String, sourcePort: UInt16, destinationPort: UInt16,
                    createdNs: UInt64, flags: [String]) {
            self.proto = proto
            self.source = source
            self.destination = destination
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
            self.createdNs = createdNs
            self.flags = flags
        }
    }

    /// Every tracked connection (one walk of the pinned `sluice_ct`), sorted by source then destination.
    public func conntrackEntries() throws -> [ConntrackEntry] {
        let map = try dumpMap(try tcObject.mapFD(named: "sluice_ct"), "sluice_ct", key: sluice_tuple(),
                              value: sluice_ct_entry())
        func ip(_ v: UInt32) -> String { "\(v & 0xFF).\(v >> 8 & 0xFF).\(v >> 16 & 0xFF).\(v >> 24)" }
        let names: [(UInt32, String)] = [
            (UInt32(SLUICE_CT_SEEN_BY_FROM_POD), "from-pod"), (UInt32(SLUICE_CT_SEEN_BY_TO_POD), "to-pod"),
            (UInt32(SLUICE_CT_CLOSED), "closed"), (UInt32(SLUICE_CT_FQDN), "fqdn"),
        ]
        return map.map { tuple, entry in
            let proto = tuple.proto == UInt8(IPPROTO_TCP) ? "TCP" : tuple.proto == UInt8(IPPROTO_UDP) ? "UDP" : String(tuple.proto)
            return ConntrackEntry(proto: proto, source: ip(tuple.src_ip4), destination: ip(tuple.dst_ip4),
                                  sourcePort: tuple.src_port, destinationPort: tuple.dst_port, createdNs: entry.created_ns,
                                  flags: names.filter { UInt32(entry.flags) & $0.0 != 0 }.map(\.1))
        }.sorted { ($0.source, $0.sourcePort, $0.destination, $0.destinationPort) < ($1.source, $1.sourcePort, $1.destination, $1.destinationPort) }
    }
}
