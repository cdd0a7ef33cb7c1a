import DNS
import Policy
import SluiceModel

/// The node-wide toFQDNs learner as the DNS proxy sees it (the agent's `FQDNService`
/// implements it): which names to learn, and where to send an answer's addresses. Once per
/// DNS answer, never per byte, so an existential is cheap enough here.
public protocol FQDNLearning: AnyObject, Sendable {
    /// The toFQDNs selectors in force; only names they match are learned. Any thread.
    var selectors: FQDNSelectorSet { get }
    /// Queues an answer: `ips` for `name` with `ttl`. `done` runs (on the learner's thread) once
    /// the addresses are in place in the datapath. Any thread.
    func learn(name: String, ips: [IPAddress], ttl: UInt32, done: @escaping () -> Void)
}
