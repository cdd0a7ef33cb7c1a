import DNS
import SluiceModel

/// Where learned toFQDNs IPs go so that L3/L4 policy can allow them (Cilium: ipcache upsert,
/// selector cache, policy maps; cilium-semantics.md 4.5). Called only on the FQDN service thread.
///
/// The BPF side comes with the L3/L4 issue; until then the agent uses `NoopFQDNDatapath`.
public protocol FQDNDatapath: AnyObject {
    /// Makes `ips` (answers for `name`) allowed for the toFQDNs selectors matching `name`.
    /// Returns whether they are in place; the answer is released either way.
    func install(ips: [IPAddress], for name: String) -> Bool
    /// Withdraws IPs of `name` that expired unused or were evicted by the per-name cap.
    func remove(ips: [IPAddress], for name: String)
    /// Whether a connection still uses `ip` (an expired IP stays until none does).
    func hasConnections(to ip: IPAddress) -> Bool
    /// Deletes the connection-tracking entries that expired (the service calls it every
    /// `FQDNService.connectionSweepIntervalNs`; the datapath already treats them as absent).
    func collectConnections()
}

extension FQDNDatapath {
    /// Nothing to collect by default.
    public func collectConnections() {}
}

/// The datapath before the L3/L4 issue: nothing to write, answers are released at once.
public final class NoopFQDNDatapath: FQDNDatapath {
    public init() {}
    public func install(ips: [IPAddress], for name: String) -> Bool { true }
    public func remove(ips: [IPAddress], for name: String) {}
    public func hasConnections(to ip: IPAddress) -> Bool { false }
}
