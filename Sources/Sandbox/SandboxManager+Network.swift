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
    func buildNode(dnsIP: String) throws(SandboxError) {
        let node = SandboxNames.nodeNetns
        let nodeAddress = SandboxPlan.nodeAddress.description
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
    func buildPod(_ endpoint: SandboxState.Endpoint, dnsIP: String) throws(SandboxError) -> Int {
        try CommandRunner.run(["ip", "netns", "add", endpoint.netns])
        try writeResolvConf(netns: endpoint.netns, namespace: endpoint.namespace, nameserver: dnsIP)
        try attach(netns: endpoint.netns, hostInterface: endpoint.hostIfName, addresses: [endpoint.ipv4])
        return try interfaceIndex(netns: SandboxNames.nodeNetns, name: endpoint.hostIfName)
    }

    /// The world namespace: every world address on its `eth0`, routed from the node.
    func buildWorld(_ hosts: [SandboxState.WorldHost], dnsIP: String) throws(SandboxError) {
        let world = SandboxNames.worldNetns
        try CommandRunner.run(["ip", "netns", "add", world])
        try writeResolvConf(netns: world, namespace: "default", nameserver: dnsIP)
        let addresses = hosts.flatMap(\.addresses)
        var unique: [String] = []
        for address in addresses where !unique.contains(address) { unique.append(address) }
        try attach(netns: world, hostInterface: SandboxNames.worldHostInterface, addresses: unique)
    }

    /// Creates the veth pair between the node and `netns` and routes `addresses` over it.
    private func attach(netns: String, hostInterface: String, addresses: [String]) throws(SandboxError) {
        let node = SandboxNames.nodeNetns
        let pod = SandboxNames.podInterface
        let gateway = SandboxPlan.nodeAddress.description
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
