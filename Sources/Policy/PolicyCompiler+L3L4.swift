import SluiceModel

/// The L3/L4 stage of the compiler: the rule sources already grouped per (endpoint, direction)
/// become policy map entries, enforcement flags and CIDR identities for the datapath.
extension PolicyCompiler {
    /// Policy map entries one snapshot may hold (`SLUICE_MAX_POLICY_ENTRIES` in
    /// `bpf/include/sluice_maps.h`); port ranges are expanded port by port.
    static let maxPolicyMapEntries = 524_288

    /// The identities a peer selection names as the datapath sees them: like `resolve`, except
    /// that CIDR peers are their CIDR identities (never pods, semantics 1.3) instead of world.
    func datapathPeers(_ selection: PeerSelection) -> PeerSet {
        if selection.selectsNothing { return .some([]) }
        if selection.isWildcard { return .all }
        var result = Set<UInt32>()
        if !selection.endpoints.isEmpty || !selection.entities.isEmpty {
            var named = selection
            named.cidrs = []
            named.fqdns = []
            switch resolve(named) {
            case .all: return .all
            case .some(let identities): result.formUnion(identities)
            }
        }
        // toFQDNs peers have no static identities: each learned IP gets an FQDN identity and its
        // entries at run time (`PolicySnapshot.fqdnPolicyEntries`), so before a lookup nothing
        // is allowed (semantics 1.8).
        // The world entity also covers every CIDR identity (Cilium gives them reserved:world).
        if result.contains(ReservedIdentity.world) {
            result.formUnion(cidrs.allIdentities)
        }
        for cidr in selection.cidrs {
            result.formUnion(cidrs.identities(selectedBy: cidr))
        }
        return .of(result)
    }

    /// Builds the L3/L4 policy from the grouped rule sources; `l7Ports` turns allows on ports
    /// with L7 rules into redirects. Adds a diagnostic when the map would overflow.
    mutating func buildL3L4(l7Ports: [L7Port]) -> L3L4Policy {
        var kinds: [PolicyMapKey: L7Kind] = [:]
        for port in l7Ports {
            kinds[
                PolicyMapKey(
                    endpointID: port.endpointID, identity: 0, port: port.port, proto: port.proto,
                    direction: port.direction)] = port.kind
        }
        var result = L3L4Policy()
        result.cidrs = cidrs
        result.kubeAPIServerIPv4 = kubeAPIServerIPv4
        result.remoteIPv4 = remoteIdentities
        for (side, sideEntries) in entries {
            for entry in sideEntries {
                Self.expand(entry, side: side, kinds: kinds, into: &result.entries, owners: &result.owners)
                if !entry.fqdns.isEmpty && !entry.isDeny && side.direction == .egress {
                    result.fqdnRules.append(Self.fqdnRule(entry, side: side, kinds: kinds))
                }
            }
        }
        // allow-localhost (semantics 1.10, rule 8): the node reaches its pods whatever the
        // ingress policy says, unless an explicit deny names the host (`--allow-localhost policy`:
        // the host is a peer like any other).
        for side in defaultDeny.keys where side.direction == .ingress && allowLocalhost == .always {
            for proto in L4Protocol.everyIPProtocol {
                let key = PolicyMapKey(
                    endpointID: side.endpointID, identity: ReservedIdentity.host, port: 0,
                    proto: proto, direction: .ingress)
                if result.entries[key] == nil { result.entries[key] = .allow }
            }
        }
        result.enforcement = defaultDeny.map {
            PolicyEnforcement(endpointID: $0.key.endpointID, direction: $0.key.direction, defaultDeny: $0.value)
        }.sorted()
        if result.entries.count > Self.maxPolicyMapEntries {
            diagnostics.append(
                PolicyDiagnostic(
                    message:
                        "the policies in force need \(result.entries.count) L3/L4 policy map entries, more than the "
                        + "datapath's \(Self.maxPolicyMapEntries) (sluice_policy); narrow the port ranges or peers",
                    sources: []))
        }
        return result
    }

    /// The run-time part of a `toFQDNs` rule: its selectors and, per port, the action a learned
    /// IP gets (a redirect where the port has L7 rules).
    private static func fqdnRule(_ entry: PortEntry, side: Side, kinds: [PolicyMapKey: L7Kind]) -> FQDNPolicyRule {
        var ports: [FQDNPolicyRule.Port] = []
        let wholeRange = entry.low == 0 && entry.high == .max
        let low = wholeRange ? 0 : max(entry.low, 1)
        let high = wholeRange ? 0 : entry.high
        if low <= high {
            for proto in entry.protocols {
                for port in low...high {
                    let l7 = PolicyMapKey(
                        endpointID: side.endpointID, identity: 0, port: port, proto: proto,
                        direction: .egress)
                    let action: PolicyMapAction = port != 0 ? kinds[l7].map { .redirect($0) } ?? .allow : .allow
                    ports.append(FQDNPolicyRule.Port(port: port, proto: proto, action: action))
                }
            }
        }
        return FQDNPolicyRule(endpointID: side.endpointID, patterns: entry.fqdns, ports: ports)
    }

    /// Writes the keys of one rule source: every (identity, port, protocol) it covers, with the
    /// policy it came from in `owners`. A deny
    /// replaces whatever is there (deny beats allow, semantics 1.10 rule 1); an allow never
    /// replaces a deny, and on a port with L7 rules it is a redirect, whichever policy it comes
    /// from (rules 2 and 4: an L4-only allow there stays proxied).
    private static func expand(
        _ entry: PortEntry, side: Side, kinds: [PolicyMapKey: L7Kind],
        into map: inout [PolicyMapKey: PolicyMapAction], owners: inout [PolicyMapKey: UInt32]
    ) {
        let identities: [UInt32]
        switch entry.datapathPeers {
        case .all: identities = [0]
        case .some(let selected): identities = selected
        }
        let wholeRange = entry.low == 0 && entry.high == .max
        let low = wholeRange ? 0 : max(entry.low, 1)
        let high = wholeRange ? 0 : entry.high
        guard low <= high else { return }
        for proto in entry.protocols {
            for port in low...high {
                let l7 = PolicyMapKey(
                    endpointID: side.endpointID, identity: 0, port: port, proto: proto,
                    direction: side.direction)
                let action: PolicyMapAction
                if entry.isDeny {
                    action = .deny
                } else if port != 0, let kind = kinds[l7] {
                    action = .redirect(kind)
                } else {
                    action = .allow
                }
                for identity in identities {
                    var key = l7
                    key.identity = identity
                    if action != .deny, map[key] == .deny { continue }
                    // The deny's policy, else one allowing policy, the same one whatever the order.
                    if let owner = owners[key], map[key] == action || (action != .deny && map[key] != .deny) {
                        owners[key] = min(owner, entry.policyRef)
                    } else {
                        owners[key] = entry.policyRef
                    }
                    map[key] = action
                }
            }
        }
    }
}
