/// Canonical text of parsed policies: what `sluice policy get` prints and what `apply` compares
/// to tell `configured` from `unchanged`. Selectors appear with the namespace Cilium adds.
extension PolicyDocument {
    /// The whole object, YAML-like, ending with a newline.
    var canonical: String {
        var lines = ["kind: \(key.kind.rawValue)", "name: \(key.name)"]
        if key.kind.isNamespaced { lines.append("namespace: \(key.namespace)") }
        lines.append("rules:")
        for rule in rules {
            lines += rule.canonicalLines.enumerated().map { index, line in (index == 0 ? "- " : "  ") + line }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension PolicyRule {
    var canonicalLines: [String] {
        var lines: [String] = []
        if let subject { lines.append("endpointSelector: \(subject.canonical)") }
        if let nodeSelector { lines.append("nodeSelector: \(nodeSelector.canonical)") }
        if let description { lines.append("description: \(description)") }
        lines.append("defaultDeny: {ingress: \(defaultDenyIngress), egress: \(defaultDenyEgress)}")
        for (title, peerRules) in [
            ("ingress", ingress), ("ingressDeny", ingressDeny), ("egress", egress),
            ("egressDeny", egressDeny),
        ] where !peerRules.isEmpty {
            lines.append("\(title):")
            for peerRule in peerRules {
                lines += peerRule.canonicalLines.enumerated().map { index, line in (index == 0 ? "- " : "  ") + line }
            }
        }
        return lines
    }
}

extension PeerRule {
    var canonicalLines: [String] {
        var lines: [String] = []
        if peers.selectsNothing {
            lines.append("peers: none")
        } else if peers.isWildcard {
            lines.append("peers: all")
        } else {
            if !peers.endpoints.isEmpty {
                lines.append("endpoints: [" + peers.endpoints.map(\.canonical).joined(separator: ", ") + "]")
            }
            if !peers.entities.isEmpty { lines.append("entities: [" + peers.entities.joined(separator: ", ") + "]") }
            if !peers.cidrs.isEmpty {
                let cidrs = peers.cidrs.map {
                    $0.except.isEmpty ? $0.cidr : "\($0.cidr) except \($0.except.joined(separator: " "))"
                }
                lines.append("cidrs: [" + cidrs.joined(separator: ", ") + "]")
            }
            if !peers.fqdns.isEmpty {
                lines.append("toFQDNs: [" + peers.fqdns.map(\.canonical).joined(separator: ", ") + "]")
            }
            if peers.services > 0 { lines.append("toServices: \(peers.services)") }
        }
        if toPorts.isEmpty { lines.append("ports: all") }
        for portRule in toPorts {
            var line = "ports: [" + portRule.ports.map(\.canonical).joined(separator: ", ") + "]"
            switch portRule.rules {
            case .none: break
            case .http(let rules): line += " http: [" + rules.map(\.canonical).joined(separator: ", ") + "]"
            case .dns(let selectors): line += " dns: [" + selectors.map(\.canonical).joined(separator: ", ") + "]"
            }
            if !portRule.serverNames.isEmpty {
                line += " serverNames: [" + portRule.serverNames.map(\.description).joined(separator: ", ") + "]"
            }
            if let t = portRule.terminatingTLS { line += " terminatingTLS: \(t.secretName)" }
            if let o = portRule.originatingTLS { line += " originatingTLS: \(o.secretName)" }
            lines.append(line)
        }
        return lines
    }
}
