import SluiceAPI
import SluiceModel

/// Checks the cross-references of a decoded topology: names are DNS labels, nothing is declared
/// twice, pods live in declared (or implicit) namespaces, world addresses stay outside the pod
/// range. Pure; reports the first problem with its path.
struct TopologyValidator {
    /// One problem: where and what.
    struct Problem: Equatable {
        var path: [TopologyPathItem]
        var message: String
    }

    /// Longest DNS label (RFC 1035 section 2.3.4), also Kubernetes' namespace name limit.
    static let maxLabelLength = 63
    /// Longest DNS name (RFC 1035 section 2.3.4).
    static let maxNameLength = 253
    /// Longest file name (Linux `NAME_MAX`): a world host's secret directory is `<name>-tls`.
    static let maxFileNameLength = 255

    private let topology: Topology

    init(_ topology: Topology) {
        self.topology = topology
    }

    /// The first problem in file order, or `nil` when the topology is usable.
    func firstProblem() -> Problem? {
        checkNamespaces() ?? checkNodes() ?? checkPods() ?? checkWorld()
    }

    /// Most nodes a sandbox may declare (each has its own agent: this is a test bed).
    static let maxNodes = 16

    /// The problem of a list entry's name, if any: not `valid` (it must be `mustBe`), or one
    /// already `seen` among the entries of its `kind`.
    private static func nameProblem(
        _ name: String, at path: [TopologyPathItem], valid: Bool, mustBe: String, kind: String, seen: inout Set<String>
    ) -> Problem? {
        if !valid { return Problem(path: path, message: "\"\(name)\" is not \(mustBe)") }
        if !seen.insert(name).inserted { return Problem(path: path, message: "duplicate \(kind) \"\(name)\"") }
        return nil
    }

    private func checkNodes() -> Problem? {
        var seen = Set<String>()
        for (index, node) in topology.nodes.enumerated() {
            let path: [TopologyPathItem] = [.key("nodes"), .index(index), .key("name")]
            let valid = Self.isDNSLabel(node.name) && node.name.utf8.count <= SandboxNames.maxNodeNameLength
            let mustBe = "a DNS label of at most \(SandboxNames.maxNodeNameLength) characters"
            if let problem = Self.nameProblem(
                node.name, at: path, valid: valid, mustBe: mustBe, kind: "node", seen: &seen)
            {
                return problem
            }
            if index >= Self.maxNodes {
                return Problem(path: path, message: "at most \(Self.maxNodes) nodes")
            }
        }
        return nil
    }

    private func checkNamespaces() -> Problem? {
        var seen = Set<String>()
        for (index, namespace) in topology.namespaces.enumerated() {
            let path: [TopologyPathItem] = [.key("namespaces"), .index(index)]
            if let problem = Self.nameProblem(
                namespace.name, at: path + [.key("name")], valid: Self.isDNSLabel(namespace.name),
                mustBe: "a DNS label",
                kind: "namespace", seen: &seen)
            {
                return problem
            }
            if let key = namespace.labels.keys.sorted().first(where: { $0.isEmpty }) {
                return Problem(path: path + [.key("labels")], message: "empty label key \"\(key)\"")
            }
        }
        return nil
    }

    private func checkPods() -> Problem? {
        let declared = Set(topology.namespaces.map(\.name)).union(Topology.implicitNamespaces)
        var seen = Set<String>()
        for (index, pod) in topology.pods.enumerated() {
            let path: [TopologyPathItem] = [.key("pods"), .index(index)]
            if !Self.isDNSLabel(pod.name) {
                return Problem(path: path + [.key("name")], message: "\"\(pod.name)\" is not a DNS label")
            }
            if !declared.contains(pod.namespace) {
                return Problem(
                    path: path + [.key("namespace")],
                    message: "namespace \"\(pod.namespace)\" is not declared under namespaces")
            }
            if let node = pod.node, !topology.nodes.contains(where: { $0.name == node }) {
                let why = topology.nodes.isEmpty ? "no nodes are declared" : "it is not declared under nodes"
                return Problem(path: path + [.key("node")], message: "node \"\(node)\": \(why)")
            }
            let qualified = "\(pod.namespace)/\(pod.name)"
            if qualified == SandboxPlan.dnsPodName || !seen.insert(qualified).inserted {
                let why = qualified == SandboxPlan.dnsPodName ? " (the sandbox adds it)" : ""
                return Problem(path: path + [.key("name")], message: "duplicate pod \"\(qualified)\"\(why)")
            }
            if let problem = Self.checkServers(pod.servers, path: path) {
                return problem
            }
            for (portIndex, named) in pod.namedPorts.enumerated() where !Self.isValidNamedPort(named) {
                return Problem(
                    path: path + [.key("namedPorts"), .index(portIndex)],
                    message: "named port needs a DNS-label name, a port 1...65535 and TCP/UDP/SCTP")
            }
        }
        return nil
    }

    private func checkWorld() -> Problem? {
        var names = Set<String>()
        var owners: [IPv4Address: String] = [:]
        for (index, entry) in topology.world.enumerated() {
            let path: [TopologyPathItem] = [.key("world"), .index(index)]
            if let problem = Self.nameProblem(
                entry.name, at: path + [.key("name")], valid: Self.isDNSName(entry.name), mustBe: "a DNS name",
                kind: "world name", seen: &names)
            {
                return problem
            }
            if entry.addresses.isEmpty {
                return Problem(path: path + [.key("addresses")], message: "needs at least one address")
            }
            for (addressIndex, address) in entry.addresses.enumerated() {
                let addressPath = path + [.key("addresses"), .index(addressIndex)]
                if !topology.nodes.isEmpty, address == SandboxPlan.kubeAPIAddress {
                    return Problem(
                        path: addressPath, message: "\(address) is the sandbox's API server when nodes are declared")
                }
                if let why = Self.reservedReason(address) {
                    return Problem(path: addressPath, message: "\(address) \(why)")
                }
                if let owner = owners[address], owner != entry.name {
                    return Problem(path: addressPath, message: "\(address) is already used by \"\(owner)\"")
                }
                owners[address] = entry.name
            }
            if let problem = Self.checkServers(entry.servers, path: path) {
                return problem
            }
            if entry.servers.contains(where: { $0.kind.usesTLS }),
                entry.name.utf8.count + SandboxTLS.secretSuffix.utf8.count > Self.maxFileNameLength
            {
                return Problem(
                    path: path + [.key("name")],
                    message:
                        "too long for a TLS server: its secret directory \"\(entry.name)\(SandboxTLS.secretSuffix)\" "
                        + "would exceed \(Self.maxFileNameLength) bytes")
            }
        }
        return nil
    }

    private static func checkServers(_ servers: [ServerSpec], path: [TopologyPathItem]) -> Problem? {
        var ports = Set<UInt16>()
        for (index, server) in servers.enumerated() where !ports.insert(server.port).inserted {
            return Problem(
                path: path + [.key("servers"), .index(index)],
                message: "port \(server.port) is used by two servers")
        }
        return nil
    }

    /// Why a world address cannot be used, or `nil`.
    static func reservedReason(_ address: IPv4Address) -> String? {
        if address.isIn(SandboxPlan.podNetwork, prefixLength: SandboxPlan.podNetworkPrefixLength) {
            return "is inside the pod network \(SandboxPlan.podNetwork)/\(SandboxPlan.podNetworkPrefixLength)"
        }
        if address.isIn(IPv4Address(127, 0, 0, 0), prefixLength: 8) { return "is a loopback address" }
        if address.isIn(IPv4Address(0, 0, 0, 0), prefixLength: 8) { return "is in 0.0.0.0/8" }
        if address.hostOrder >= IPv4Address(224, 0, 0, 0).hostOrder { return "is multicast or reserved" }
        return nil
    }

    /// RFC 1123 label as Kubernetes uses it: lowercase letters, digits and `-`, alphanumeric at
    /// both ends, 1...63 characters.
    static func isDNSLabel(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, bytes.count <= maxLabelLength else { return false }
        let isAlnum: (UInt8) -> Bool = { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
        return isAlnum(first) && isAlnum(last) && bytes.allSatisfy { isAlnum($0) || $0 == 0x2D }
    }

    /// Dot-separated DNS labels, at most 253 characters, no trailing dot.
    static func isDNSName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= maxNameLength else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    private static func isValidNamedPort(_ port: NamedPort) -> Bool {
        isDNSLabel(port.name) && port.port > 0 && ["TCP", "UDP", "SCTP"].contains(port.protocol)
    }
}
