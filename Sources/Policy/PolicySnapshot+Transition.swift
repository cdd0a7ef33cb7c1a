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
        var kept = false
        for (key, policy) in previous.http where http[key] == nil && dns[key] == nil {
            http[key] = policy
            kept = true
        }
        for (key, policy) in previous.dns where http[key] == nil && dns[key] == nil {
            dns[key] = policy
            kept = true
        }
        return kept ? PolicySnapshot(self, http: http, dns: dns) : self
    }
}
