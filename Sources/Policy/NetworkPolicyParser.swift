import SluiceModel

/// Translates a Kubernetes NetworkPolicy `spec` into one Cilium rule the way Cilium does
/// (cilium pkg/k8s/network_policy.go; semantics section 2).
enum NetworkPolicyParser {
    /// Parses `spec` of a NetworkPolicy in `namespace`.
    static func parseSpec(_ value: YAMLValue, namespace: String) throws(LoadError) -> PolicyRule {
        let mapping = try value.mapping(allowing: ["podSelector", "policyTypes", "ingress", "egress"])
        let podValue = try mapping.required("podSelector")
        var subject = try SelectorParser.parse(podValue, keys: .k8s)
        subject.setMatch(source: Label.Source.k8s, key: Label.namespaceKey, value: namespace)
        var types: [String] = []
        for item in try mapping["policyTypes"]?.sequence() ?? [] {
            let type = try item.string()
            guard type == "Ingress" || type == "Egress" else {
                throw item.error("Unsupported value: \"\(type)\": supported values: \"Ingress\", \"Egress\"")
            }
            types.append(type)
        }
        let ingress = try rules(mapping["ingress"], peerKey: "from", namespace: namespace)
        let egress = try rules(mapping["egress"], peerKey: "to", namespace: namespace)
        // Kubernetes defaults policyTypes to Ingress, plus Egress when egress rules exist.
        if types.isEmpty {
            types = ["Ingress"] + (mapping.has("egress") ? ["Egress"] : [])
        }
        return PolicyRule(
            subject: subject, nodeSelector: nil, ingress: ingress, egress: egress, ingressDeny: [],
            egressDeny: [], defaultDenyIngress: types.contains("Ingress") || !types.contains("Egress"),
            defaultDenyEgress: types.contains("Egress"), description: nil)
    }

    private static func rules(_ value: YAMLValue?, peerKey: String, namespace: String) throws(LoadError) -> [PeerRule] {
        guard let value else { return [] }
        var result: [PeerRule] = []
        for item in try value.sequence() {
            let mapping = try item.mapping(allowing: [peerKey, "ports"])
            var peers = PeerSelection()
            let peerItems = try mapping[peerKey]?.sequence() ?? []
            // An empty or missing from/to means every peer, world and host included.
            peers.explicitlyEveryone = peerItems.isEmpty
            for peer in peerItems {
                try addPeer(peer, to: &peers, namespace: namespace)
            }
            var ports: [PortProtocol] = []
            for port in try mapping["ports"]?.sequence() ?? [] {
                ports.append(try PortRuleParser.parsePort(port, defaultProtocol: .tcp, portRequired: false))
            }
            let toPorts = ports.isEmpty ? [] : [PortRule(ports: ports, rules: .none)]
            result.append(PeerRule(peers: peers, toPorts: toPorts))
        }
        return result
    }

    private static func addPeer(_ value: YAMLValue, to peers: inout PeerSelection, namespace: String) throws(LoadError)
    {
        let mapping = try value.mapping(allowing: ["podSelector", "namespaceSelector", "ipBlock"])
        if let block = mapping["ipBlock"] {
            if mapping.has("podSelector") || mapping.has("namespaceSelector") {
                throw block.error("may not be specified when `podSelector` or `namespaceSelector` is specified")
            }
            peers.cidrs.append(try CIDRParser.parseRule(block))
            return
        }
        let pods = try mapping["podSelector"].map { value throws(LoadError) in
            try SelectorParser.parse(value, keys: .k8s)
        }
        guard let namespaces = mapping.entries["namespaceSelector"] else {
            guard var selector = pods else { throw value.error("must specify a peer") }
            selector.setMatch(source: Label.Source.k8s, key: Label.namespaceKey, value: namespace)
            peers.endpoints.append(selector)
            return
        }
        let namespaceSelector = try SelectorParser.parse(namespaces, keys: .namespaceLabel)
        var combined = LabelSelector(requirements: namespaceSelector.requirements + (pods?.requirements ?? []))
        if namespaceSelector.isEmpty {
            // `namespaceSelector: {}`: every namespace, i.e. every pod (namespace label exists).
            combined.addExists(source: Label.Source.k8s, key: Label.namespaceKey)
        }
        if !combined.namesKey(Label.clusterKey) {
            combined.setMatch(source: Label.Source.k8s, key: Label.clusterKey, value: Label.clusterName)
        }
        peers.endpoints.append(combined)
    }
}
