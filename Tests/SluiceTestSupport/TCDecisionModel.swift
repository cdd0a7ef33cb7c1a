import Policy
import SluiceModel

/// The one model of the tc programs' L3/L4 decision that the policy truth tables use (bpf/lib/
/// policy.h, `sluice_policy_verdict`), held equal to the real program by DatapathTests'
/// `TCDecisionModelTests` (BPF_PROG_RUN over every example policy).
extension PolicySnapshot {
    /// The decision of `endpoint` in `direction` for a packet from/to `peer` on `port`: no mode
    /// entry = `allow` (no policy in that direction); any covering deny = `deny-181`; an allow =
    /// `allow`, a redirect (the port has L7 rules: allowed, then steered to the proxy) = `proxy`,
    /// the most specific probe first; else `denied-133` or `allow` by the default-deny mode.
    public func decision(
        endpoint: UInt32, _ direction: Direction, peer: UInt32, port: UInt16,
        proto: UInt8 = 6
    ) -> String {
        guard let mode = policyEnforcement.first(where: { $0.endpointID == endpoint && $0.direction == direction })
        else { return "allow" }
        let keys = [(peer, port), (peer, 0), (0, port), (0, 0)].map {
            PolicyMapKey(endpointID: endpoint, identity: $0.0, port: $0.1, proto: proto, direction: direction)
        }
        let actions = keys.compactMap { policyMap[$0] }
        if actions.contains(.deny) { return "deny-181" }
        if let first = actions.first { return first == .allow ? "allow" : "proxy" }
        return mode.defaultDeny ? "denied-133" : "allow"
    }

    /// The identity the ipcache gives a host-order IPv4 address (longest prefix; world when no
    /// prefix covers it, as the program falls back to).
    public func ipcacheIdentity(hostOrder host: UInt32, hostIPv4: [UInt32] = []) -> UInt32 {
        var best: IPCacheEntry?
        for entry in ipcacheEntries(hostIPv4: hostIPv4) {
            let mask: UInt32 = entry.prefixLength == 0 ? 0 : UInt32.max << (32 - UInt32(entry.prefixLength))
            if host & mask == entry.ipv4.bigEndian, entry.prefixLength >= (best?.prefixLength ?? 0) { best = entry }
        }
        return best?.identity ?? ReservedIdentity.world
    }

    /// The identity the ipcache gives a.b.c.d.
    public func ipcacheIdentity(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> UInt32 {
        ipcacheIdentity(hostOrder: UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
    }
}
