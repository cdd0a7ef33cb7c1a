/// Cilium's `--allow-localhost`: whether the node itself (the `host` identity) reaches local pods
/// whatever their ingress policy says (cilium-semantics.md 1.10, rule 8).
public enum AllowLocalhost: String, Sendable, CaseIterable {
    /// The default (Cilium's `auto` resolves to it): the host is allowed at L3/L4 on every port,
    /// and on a port with ingress L7 rules that select it, it is allowed every request, still
    /// through the proxy (Cilium turns the L7 rules into allow-all for the host).
    case always
    /// The host is subject to the policy like any other peer, L7 rules included.
    case policy
}
