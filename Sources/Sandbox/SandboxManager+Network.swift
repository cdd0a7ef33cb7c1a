import SluiceAPI
import SluiceModel

/// The `ip` and `sysctl` steps that build the sandbox's network. Every step is one external
/// command; a failure throws an error naming it and its stderr.
extension SandboxManager {
    /// Sysctls of the node namespace: forward between pods, no reverse-path filtering (the proxy
    /// answers from addresses that are not the node's).
    static let nodeSysctls = [
        "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
        "net.ipv4.conf.default.rp_filter=0",
    ]

    /// Node namespace: loopback, the interface holding the node address, sysctls. No default
    /// route: nothing leaves the sandbox. The interface is a bridge without ports rather than a
    /// `dummy`: some kernels (this project's VMs) are built without the dummy driver, and a
    /// local address works the same on either.
    func buildNode(
        dnsIP: String, netns node: String = SandboxNames.nodeNetns,
        address nodeAddress: String = SandboxPlan.nodeAddress.description
    ) throws(SandboxError) {
        try CommandRunner.run(["ip", "netns", "add", node])
        try writeResolvConf(netns: node, namespace: "default", nameserver: dnsIP)
        try CommandRunner.run(["ip", "-n", node, "link", "set", "lo", "up"])
        try CommandRunner.run(["ip", "-n", node, "link", "add", SandboxNames.nodeInterface, "type", "bridge"])
        try CommandRunner.run(["ip", "-n", node, "addr", "add", "\(nodeAddress)/32", "dev", SandboxNames.nodeInterface])
        try CommandRunner.run(["ip", "-n", node, "link", "set", SandboxNames.nodeInterface, "up"])
        try sysctl(netns: node, Self.nodeSysctls)
    }

    /// A pod: its namespace, resolver, veth pair (`lxc…` in the node, `eth0` in the pod), the
    /// pod's /32 address and default route via the node, the node's /32 route back.
    /// - Returns: the host veth's ifindex inside the node namespace.
    func buildPod(
        _ endpoint: SandboxState.Endpoint, dnsIP: String, node: String = SandboxNames.nodeNetns,
        gateway: String = SandboxPlan.nodeAddress.description
    ) throws(SandboxError) -> Int {
        try CommandRunner.run(["ip", "netns", "add", endpoint.netns])
        try writeResolvConf(netns: endpoint.netns, namespace: endpoint.namespace, nameserver: dnsIP)
        try attach(
            netns: endpoint.netns, hostInterface: endpoint.hostIfName, addresses: [endpoint.ipv4], node: node,
            gateway: gateway)
        return try interfaceIndex(netns: node, name: endpoint.hostIfName)
    }

    /// Links node `other` to the first node of a multi-node sandbox by a veth (`sl-OTHER` in the
    /// first, `sl-FIRST` in the other; a star around the first node, which also holds the world
    /// and DNS): the first node routes the other's address and pod /24 over it, the other node
    /// routes everything else (the first node's pods, the world, the nodes beyond) to the first.
    func linkNodes(first: SandboxState.Node, other: SandboxState.Node) throws(SandboxError) {
        let towardsOther = SandboxNames.nodeLinkInterface(peer: other.name)
        let towardsFirst = SandboxNames.nodeLinkInterface(peer: first.name)
        try CommandRunner.run([
            "ip", "-n", first.netns, "link", "add", towardsOther, "type", "veth",
            "peer", "name", towardsFirst, "netns", other.netns,
        ])
        for (netns, interface) in [(first.netns, towardsOther), (other.netns, towardsFirst)] {
            try sysctl(netns: netns, ["net.ipv4.conf.\(interface).rp_filter=0"])
            try CommandRunner.run(["ip", "-n", netns, "link", "set", interface, "up"])
        }
        try CommandRunner.run(["ip", "-n", first.netns, "route", "add", "\(other.ip)/32", "dev", towardsOther])
        try CommandRunner.run([
            "ip", "-n", first.netns, "route", "add", other.podCIDR, "via", other.ip, "dev", towardsOther, "onlink",
        ])
        try CommandRunner.run(["ip", "-n", other.netns, "route", "add", "\(first.ip)/32", "dev", towardsFirst])
        try CommandRunner.run([
            "ip", "-n", other.netns, "route", "add", "default", "via", first.ip, "dev", towardsFirst, "onlink",
        ])
    }

    /// The world namespace: every world address on its `eth0`, routed from the node.
    func buildWorld(_ hosts: [SandboxState.WorldHost], dnsIP: String) throws(SandboxError) {
        let world = SandboxNames.worldNetns
        try CommandRunner.run(["ip", "netns", "add", world])
        try writeResolvConf(netns: world, namespace: "default", nameserver: dnsIP)
        let addresses = hosts.flatMap(\.addresses)
        var unique: [String] = []
        for address in addresses where !unique.contains(address) { unique.append(address) }
        try attach(
            netns: world, hostInterface: SandboxNames.worldHostInterface, addresses: unique,
            node: SandboxNames.nodeNetns, gateway: SandboxPlan.nodeAddress.description)
    }

    /// Creates the veth pair between the node and `netns` and routes `addresses` over it.
    private func attach(
        netns: String, hostInterface: String, addresses: [String], node: String, gateway: String
    ) throws(SandboxError) {
        let pod = SandboxNames.podInterface
        try CommandRunner.run(["ip", "-n", netns, "link", "set", "lo", "up"])
        try CommandRunner.run([
            "ip", "-n", node, "link", "add", hostInterface, "type", "veth",
            "peer", "name", pod, "netns", netns,
        ])
        for address in addresses {
            try CommandRunner.run(["ip", "-n", netns, "addr", "add", "\(address)/32", "dev", pod])
        }
        try CommandRunner.run(["ip", "-n", netns, "link", "set", pod, "up"])
        try CommandRunner.run(["ip", "-n", netns, "route", "add", gateway, "dev", pod, "scope", "link"])
        try CommandRunner.run(["ip", "-n", netns, "route", "add", "default", "via", gateway, "dev", pod, "onlink"])
        try sysctl(
            netns: node,
            [
                "net.ipv4.conf.\(hostInterface).rp_filter=0",
                "net.ipv4.conf.\(hostInterface).proxy_arp=1",
            ])
        try CommandRunner.run(["ip", "-n", node, "link", "set", hostInterface, "up"])
        for address in addresses {
            try CommandRunner.run(["ip", "-n", node, "route", "add", "\(address)/32", "dev", hostInterface])
        }
    }

    /// `sysctl -q -w` inside `netns` (per-namespace keys only).
    func sysctl(netns: String, _ assignments: [String]) throws(SandboxError) {
        try CommandRunner.run(["ip", "netns", "exec", netns, "sysctl", "-q", "-w"] + assignments)
    }

    /// The ifindex of `name` inside `netns`, from `ip -o link show` (`"12: lxc…@if2: <…"`).
    func interfaceIndex(netns: String, name: String) throws(SandboxError) -> Int {
        let command = ["ip", "-n", netns, "-o", "link", "show", "dev", name]
        let output = try CommandRunner.run(command)
        guard let index = Self.parseInterfaceIndex(output) else {
            throw SandboxError.commandFailed(command, status: 0, stderr: "no ifindex in output: \(output)")
        }
        return index
    }

    /// The leading `N:` of an `ip -o link show` line.
    static func parseInterfaceIndex(_ output: String) -> Int? {
        guard let colon = output.firstIndex(of: ":") else { return nil }
        return Int(output[..<colon].trimmingSpaces)
    }
}
