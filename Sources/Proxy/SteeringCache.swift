/// A worker's cache in front of the steering table: the `bpf` lookup per accepted connection
/// or received datagram becomes one per peer pair.
///
/// tc's steering entry (both endpoints and identities, the sides) depends on the source address,
/// the destination address and port, the protocol and the steering maps — not on the source
/// port (bpf/lib/steer.h). So entries are keyed without it, and are valid
/// while the table's change counter (`SteeringEpoch`) is unchanged. An entry tc recorded before
/// the last change is used once but not kept (its SYN saw the old maps). Tables without a
/// counter are not cached. Misses are not cached either: a connection without an entry asks the
/// table every time.
///
/// Direct-mapped, fixed size, no allocation after init. Loop-thread only.
final class SteeringCache: SteeringTable {
    private struct Slot {
        var source: UInt32 = 0
        var destination: UInt32 = 0
        var port: UInt16 = 0
        var proto: UInt8 = 0
        var used = false
        var epoch: UInt64 = 0
        var info = SteerInfo(
            sourceEndpoint: 0, destinationEndpoint: 0, sourceIdentity: 0, destinationIdentity: 0,
            sides: [])
    }

    static let defaultSlots = 1024
    let table: SteeringTable
    private var slots: [Slot]
    private let mask: Int
    /// Lookups answered from the cache / passed to the table (tests and diagnostics).
    private(set) var hits = 0
    private(set) var misses = 0

    init(_ table: SteeringTable, slots: Int = SteeringCache.defaultSlots) {
        precondition(slots > 0 && slots & (slots - 1) == 0, "slots must be a power of two")
        self.table = table
        self.slots = Array(repeating: Slot(), count: slots)
        self.mask = slots - 1
    }

    var changeEpoch: (epoch: UInt64, lastChangeNs: UInt64)? { table.changeEpoch }

    var dnsDenyCache: DNSDenyCache? { table.dnsDenyCache }

    func lookup(
        sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16,
        protocol proto: UInt8
    ) -> SteerInfo? {
        guard let now = table.changeEpoch else {
            misses += 1
            return table.lookup(
                sourceAddress: sourceAddress, sourcePort: sourcePort,
                destinationAddress: destinationAddress, destinationPort: destinationPort,
                protocol: proto)
        }
        var h = UInt64(sourceAddress) &* 0x9E37_79B9_7F4A_7C15
        h ^= (UInt64(destinationAddress) << 24 | UInt64(destinationPort) << 8 | UInt64(proto)) &* 0xC2B2_AE3D_27D4_EB4F
        let i = Int(truncatingIfNeeded: h >> 40) & mask
        let slot = slots[i]
        if slot.used && slot.epoch == now.epoch && slot.source == sourceAddress
            && slot.destination == destinationAddress
            && slot.port == destinationPort && slot.proto == proto
        {
            hits += 1
            return slot.info
        }
        misses += 1
        guard
            let info = table.lookup(
                sourceAddress: sourceAddress, sourcePort: sourcePort,
                destinationAddress: destinationAddress, destinationPort: destinationPort,
                protocol: proto)
        else { return nil }
        if info.createdNs > now.lastChangeNs {
            slots[i] = Slot(
                source: sourceAddress, destination: destinationAddress, port: destinationPort, proto: proto,
                used: true, epoch: now.epoch, info: info)
        }
        return info
    }
}
