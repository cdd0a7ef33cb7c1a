/// The snapshot the proxy workers hold while the datapath's maps change from one policy to the
/// next (docs/architecture.md, "Policy updates").
extension PolicySnapshot {
    /// `self` (the new policy), except that a port with L7 rules in `previous` and none in
    /// `self` keeps `previous`'s rules. Steering toward a port whose L7 rules are going away is
    /// removed only after the L3/L4 change that replaces it, so until then the proxy may still
    /// see its connections; with this snapshot it judges them by the rules they were steered
    /// for, never as "no L7 rules here" (which forwards everything). Ports with L7 rules in
    /// `self` get `self`'s rules at once, before steering toward them is written.
    public func transition(from previous: PolicySnapshot) -> PolicySnapshot {
        var http = self.http
        var dns = self.dns
        var tls = self.tls
        var kept = false
        func free(_ key: UInt64) -> Bool { http[key] == nil && dns[key] == nil && tls[key] == nil }
        for (key, policy) in previous.http where free(key) {
            http[key] = policy
            kept = true
        }
        for (key, policy) in previous.dns where free(key) {
            dns[key] = policy
            kept = true
        }
        for (key, policy) in previous.tls where free(key) {
            tls[key] = policy
            kept = true
        }
        return kept ? PolicySnapshot(self, http: http, dns: dns, tls: tls) : self
    }
}
