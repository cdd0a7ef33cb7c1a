/// toFQDNs in the datapath (cilium-semantics 1.8 and 4.5): an IP learned from a DNS answer for a
/// name some `toFQDNs` selector matches gets a node-local FQDN identity in the ipcache, and each
/// endpoint whose egress rule holds such a selector gets policy entries for that identity on the
/// rule's ports. In-cluster IPs (pods, the node) are never selected.
extension PolicySnapshot {
    /// Whether any `toFQDNs` rule in force matches `name` (lower-cased, trailing dot).
    public func hasFQDNRule(matching name: String) -> Bool {
        l3l4.fqdnRules.contains { rule in rule.patterns.contains { $0.matches(name) } }
    }

    /// The policy map entries of one learned IP whose FQDN identity is `identity` and whose
    /// names (lower-cased, trailing dot) are `names`. Empty when no rule matches any name.
    public func fqdnPolicyEntries(identity: UInt32, names: [String]) -> [PolicyMapKey: PolicyMapAction] {
        var result: [PolicyMapKey: PolicyMapAction] = [:]
        for rule in l3l4.fqdnRules where rule.patterns.contains(where: { p in names.contains { p.matches($0) } }) {
            for port in rule.ports {
                let key = PolicyMapKey(
                    endpointID: rule.endpointID, identity: identity, port: port.port,
                    proto: port.proto, direction: .egress)
                // A redirect wins over a plain allow for the same key (the port has L7 rules).
                if case .redirect = result[key] ?? .allow { continue }
                result[key] = port.action
            }
        }
        return result
    }

    /// Whether `ipv4` (network order) belongs to the cluster: an endpoint of this node. Such
    /// IPs keep their own identity and are never given an FQDN identity.
    public func isClusterIPv4(_ ipv4: UInt32) -> Bool {
        endpoint(ofIPv4: ipv4) != nil
    }
}

/// Node-local identities of IPs learned for toFQDNs selectors: `base + n`, above the CIDR
/// identities (`1 << 24 + n`, Cilium's local scope) so the two never meet.
public enum FQDNIdentity {
    /// The first FQDN identity.
    public static let base: UInt32 = 1 << 24 | 1 << 23
    /// How many exist.
    public static let count: UInt32 = 1 << 23

    /// Whether `identity` is an FQDN identity.
    public static func contains(_ identity: UInt32) -> Bool {
        identity >= base && identity < base + count
    }
}
