import SluiceModel

/// Parses one CNP/CCNP rule (`spec` or an item of `specs`) into a `PolicyRule`, adding the
/// namespace scoping Cilium adds (cilium.io/utils getEndpointSelector) and applying Cilium's
/// rule checks (IngressRule/EgressRule sanitize).
struct CiliumRuleParser {
    /// Policy namespace; empty for a CCNP.
    let namespace: String
    /// Notes for the user that do not make the file invalid.
    var warnings: [String] = []

    private static let ruleKeys: Set<String> = [
        "endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress", "egressDeny",
        "enableDefaultDeny", "description", "labels", "log",
    ]
    private static let ingressL3: [String] = [
        "fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities", "fromNodes", "fromGroups",
    ]
    private static let egressL3: [String] = [
        "toEndpoints", "toCIDR", "toCIDRSet", "toEntities", "toServices", "toFQDNs", "toGroups", "toNodes",
    ]
    private static let unsupportedPeerKeys: Set<String> = [
        "fromNodes", "fromGroups", "toNodes", "toGroups", "authentication",
    ]

    /// The selectors already parsed from the same file: an equal one is shared, not kept again
    /// (1,000 objects selecting the same pods keep one selector).
    let selectors: SelectorTable

    init(namespace: String, selectors: SelectorTable = SelectorTable()) {
        self.namespace = namespace
        self.selectors = selectors
    }

    /// Parses and validates one rule.
    mutating func parseRule(_ value: YAMLValue) throws(LoadError) -> PolicyRule {
        let mapping = try value.mapping(allowing: Self.ruleKeys)
        let endpointValue = mapping.entries["endpointSelector"]
        let nodeValue = mapping.entries["nodeSelector"]
        if endpointValue == nil && nodeValue == nil {
            throw value.error("rule must have one of EndpointSelector or NodeSelector")
        }
        if endpointValue != nil, let nodeValue {
            throw nodeValue.error("rule cannot have both EndpointSelector and NodeSelector")
        }
        if let nodeValue, !namespace.isEmpty {
            throw nodeValue.error("nodeSelector is only allowed in a CiliumClusterwideNetworkPolicy")
        }
        var subject: LabelSelector?
        if let endpointValue {
            subject = try scopeSubject(SelectorParser.parse(endpointValue, keys: .fromPrefix))
        }
        let node = try nodeValue.map { value throws(LoadError) in try SelectorParser.parse(value, keys: .fromPrefix) }
        let ingress = try peerRules(mapping["ingress"], direction: .ingress, isDeny: false)
        let ingressDeny = try peerRules(mapping["ingressDeny"], direction: .ingress, isDeny: true)
        let egress = try peerRules(mapping["egress"], direction: .egress, isDeny: false)
        let egressDeny = try peerRules(mapping["egressDeny"], direction: .egress, isDeny: true)
        if !(["ingress", "ingressDeny", "egress", "egressDeny"].contains { mapping.has($0) }) {
            throw value.error("rule must have at least one of ingress, ingressDeny, egress, egressDeny")
        }
        var denyIngress = !ingress.isEmpty || !ingressDeny.isEmpty
        var denyEgress = !egress.isEmpty || !egressDeny.isEmpty
        if let defaults = mapping["enableDefaultDeny"] {
            let flags = try defaults.mapping(allowing: ["ingress", "egress"])
            if let flag = flags["ingress"] { denyIngress = try flag.bool() }
            if let flag = flags["egress"] { denyEgress = try flag.bool() }
        }
        if let labels = mapping["labels"] { _ = try labels.sequence() }
        return PolicyRule(
            subject: subject, nodeSelector: node, ingress: ingress, egress: egress,
            ingressDeny: ingressDeny, egressDeny: egressDeny, defaultDenyIngress: denyIngress,
            defaultDenyEgress: denyEgress, description: try mapping["description"]?.string())
    }

    /// A CNP's endpointSelector always applies in the policy's namespace; Cilium replaces a
    /// different namespace with a warning.
    private mutating func scopeSubject(_ selector: LabelSelector) -> LabelSelector {
        guard !namespace.isEmpty else { return selector }
        if let named = selector.requirements.first(where: {
            $0.key == Label.namespaceKey && $0.source == Label.Source.k8s && $0.values != [namespace]
        }) {
            warnings.append(
                "endpointSelector names namespace \(named.values.joined(separator: ",")); "
                    + "a CiliumNetworkPolicy always applies in its own namespace \(namespace)")
        }
        var scoped = selector
        scoped.setMatch(source: Label.Source.k8s, key: Label.namespaceKey, value: namespace)
        return selectors.shared(scoped)
    }

    private func peerRules(_ value: YAMLValue?, direction: Direction, isDeny: Bool) throws(LoadError) -> [PeerRule] {
        guard let value else { return [] }
        var rules: [PeerRule] = []
        for item in try value.sequence() {
            rules.append(try peerRule(item, direction: direction, isDeny: isDeny))
        }
        return rules
    }

    private func peerRule(_ value: YAMLValue, direction: Direction, isDeny: Bool) throws(LoadError) -> PeerRule {
        let l3 = direction == .ingress ? Self.ingressL3 : Self.egressL3
        var keys = Set(l3).union(["toPorts", "icmps", "authentication"])
        keys.insert(direction == .ingress ? "fromRequires" : "toRequires")
        if isDeny { keys.remove("toFQDNs") }
        let mapping = try value.mapping(allowing: keys)
        for key in keys.sorted() where Self.unsupportedPeerKeys.contains(key) {
            if let field = mapping.entries[key] { throw field.error("\"\(key)\" is not supported by Sluice yet") }
        }
        for key in ["fromRequires", "toRequires"] {
            if let field = mapping[key], !(try field.sequence()).isEmpty {
                throw field.error("Too many: must have at most 0 items (\(key) is deprecated)")
            }
        }
        let used = l3.filter { mapping[$0].map { (try? $0.sequence().isEmpty) == false } ?? false }
        if used.count > 1 {
            throw value.error(
                "Combining \(used[0].capitalizedFirst) and \(used[1].capitalizedFirst) is not supported yet")
        }
        let icmps = try mapping["icmps"].map { icmps throws(LoadError) in try ICMPRuleParser.parse(icmps) } ?? []
        let portItems = try mapping["toPorts"]?.sequence() ?? []
        if !icmps.isEmpty, !portItems.isEmpty, let icmpsValue = mapping["icmps"] {
            throw icmpsValue.error(
                "the ICMPs block may only be present without ToPorts. Define a separate rule to use ToPorts")
        }
        var toPorts: [PortRule] = []
        for item in portItems {
            toPorts.append(try PortRuleParser.parse(item, direction: direction, isDeny: isDeny))
        }
        if used == ["toServices"] && !toPorts.isEmpty {
            throw value.error("Combining ToServices and ToPorts is not supported yet")
        }
        try ICMPRuleParser.verify(icmps)
        // Each `icmps` item is a port rule of ICMP types (Cilium ICMPRule.GetPortRule).
        toPorts += icmps.map { PortRule(ports: $0.ports, rules: .none) }
        var selection = try peers(mapping, direction: direction)
        let l3Given = l3.contains { mapping.has($0) }
        if (!l3Given && toPorts.isEmpty) || (l3Given && used.isEmpty) {
            selection.selectsNothing = true
        }
        return PeerRule(peers: selection, toPorts: toPorts)
    }

    private func peers(_ mapping: YAMLMapping, direction: Direction) throws(LoadError) -> PeerSelection {
        let prefix = direction == .ingress ? "from" : "to"
        var peers = PeerSelection()
        for item in try mapping["\(prefix)Endpoints"]?.sequence() ?? [] {
            let selector = try SelectorParser.parse(item, keys: .fromPrefix)
            peers.endpoints.append(selectors.shared(SelectorParser.scopePeer(selector, namespace: namespace)))
        }
        for item in try mapping["\(prefix)Entities"]?.sequence() ?? [] {
            let entity = try item.string()
            if ReservedIdentity.entity(entity) == nil { throw item.error("unsupported entity: \(entity)") }
            peers.entities.append(entity)
        }
        for item in try mapping["\(prefix)CIDR"]?.sequence() ?? [] {
            peers.cidrs.append(CIDRRule(cidr: try CIDRParser.parse(item), except: []))
        }
        for item in try mapping["\(prefix)CIDRSet"]?.sequence() ?? [] {
            peers.cidrs.append(try CIDRParser.parseRule(item))
        }
        for item in try mapping["toFQDNs"]?.sequence() ?? [] {
            peers.fqdns.append(try L7RuleParser.parseFQDNSelector(item))
        }
        peers.services = try mapping["toServices"]?.sequence().count ?? 0
        return peers
    }
}

extension String {
    /// `fromEndpoints` -> `FromEndpoints` (Cilium names struct fields in its messages).
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

/// The distinct selectors of one file's parse: `shared` returns the first equal selector seen,
/// whose requirements (an array of their own, with an array per value) the new one then shares.
final class SelectorTable {
    private var seen: Set<LabelSelector> = []

    init() {}

    func shared(_ selector: LabelSelector) -> LabelSelector {
        if let index = seen.firstIndex(of: selector) { return seen[index] }
        seen.insert(selector)
        return selector
    }
}
