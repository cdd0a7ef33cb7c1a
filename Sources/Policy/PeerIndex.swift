import SluiceModel

/// Which entries of a port's rule list select a peer, found without testing every entry: the
/// entries' positions per identity they name, plus the positions of the entries that select
/// every peer. A port carrying many policies (1,000 CNPs each admitting its own peers) then
/// costs a request one dictionary probe and the entries that select its peer, not a membership
/// test per entry.
///
/// `forEach` visits exactly the positions `i` with `peers[i].contains(identity)`, in ascending
/// order, each once (`PeerIndexTests` holds it to that over random peer sets), so the first
/// entry found and every verdict are the same as a linear scan's. Immutable; any thread.
struct PeerIndex: Sendable {
    /// Below this many entries a linear scan is as fast, and no index is built.
    static let minimumEntries = 8

    /// Positions of the entries naming each identity, ascending.
    private let byIdentity: [UInt32: [Int32]]
    /// Positions of the entries selecting every peer (`PeerSet.all`), ascending.
    private let wildcard: [Int32]
    /// Positions of the entries naming world: a node-local identity (CIDR, learned toFQDNs
    /// address) is selected by them too (`PeerSet.contains`).
    private let world: [Int32]

    /// nil when `peers` is short enough to scan.
    init?(_ peers: [PeerSet]) {
        guard peers.count >= Self.minimumEntries else { return nil }
        var byIdentity: [UInt32: [Int32]] = [:]
        var wildcard: [Int32] = []
        for (position, set) in peers.enumerated() {
            switch set {
            case .all:
                wildcard.append(Int32(position))
            case .some(let identities):
                for identity in identities { byIdentity[identity, default: []].append(Int32(position)) }
            }
        }
        self.byIdentity = byIdentity
        self.wildcard = wildcard
        world = byIdentity[ReservedIdentity.world] ?? []
    }

    /// Calls `body` with each position whose entry selects `identity`, ascending; stops when
    /// `body` returns false.
    @inline(__always)
    func forEach(selecting identity: UInt32, _ body: (Int) -> Bool) {
        let named = byIdentity[identity] ?? []
        let world = identity >= CIDRIdentityTable.localScope ? self.world : []
        named.withUnsafeBufferPointer { a in
            wildcard.withUnsafeBufferPointer { b in
                world.withUnsafeBufferPointer { c in
                    var (i, j, k) = (0, 0, 0)
                    while true {
                        // the smallest of the three heads; equal heads are one entry
                        var next = Int32.max
                        if i < a.count { next = a[i] }
                        if j < b.count && b[j] < next { next = b[j] }
                        if k < c.count && c[k] < next { next = c[k] }
                        if next == Int32.max { return }
                        if i < a.count && a[i] == next { i += 1 }
                        if j < b.count && b[j] == next { j += 1 }
                        if k < c.count && c[k] == next { k += 1 }
                        if !body(Int(next)) { return }
                    }
                }
            }
        }
    }
}
