/// One connection-tracking entry (`sluice_ct`) as `sluice bpf ct list` shows it: the answer to
/// the control operation `.conntrackList` is `[ConntrackEntry]` as JSON.
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

    public init(
        proto: String, source: String, destination: String, sourcePort: UInt16, destinationPort: UInt16,
        createdNs: UInt64, flags: [String]
    ) {
        self.proto = proto
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.createdNs = createdNs
        self.flags = flags
    }
}
