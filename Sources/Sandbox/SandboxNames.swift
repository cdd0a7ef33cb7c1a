import SluiceModel

/// The names the sandbox gives to network namespaces and interfaces. Pure and deterministic:
/// the same topology always yields the same names, so a later run (or `down` after a crash)
/// finds what an earlier one made.
public enum SandboxNames {
    /// Every network namespace the sandbox creates starts with this; `down` deletes them all.
    public static let netnsPrefix = "sluice-"
    /// The node's network namespace (where the agent runs).
    public static let nodeNetns = "sluice-node"
    /// The namespace that owns the world addresses, behind the node.
    public static let worldNetns = "sluice-world"
    /// The interface (a bridge without ports) carrying the node address inside the node namespace.
    public static let nodeInterface = "sluice_host"
    /// The node-side veth towards the world namespace.
    public static let worldHostInterface = "sluice_world"
    /// The pod-side (and world-side) end of every veth.
    public static let podInterface = "eth0"
    /// Linux interface names are at most IFNAMSIZ - 1 = 15 bytes.
    public static let maxInterfaceNameLength = 15
    /// Longer namespace names are shortened and given a hash suffix, to stay readable.
    public static let maxNetnsNameLength = 48
    /// Prefix of the veths between nodes: `sl-NAME` in a node is its link to node NAME.
    public static let nodeLinkPrefix = "sl-"
    /// Longest node name: `sl-NAME` must fit in `maxInterfaceNameLength`.
    public static let maxNodeNameLength = 12

    /// The network namespace of a multi-node sandbox's node: the first keeps `nodeNetns` (so
    /// the single-node tools find it); another is `sluice-node_NAME` (`_` is in no DNS label,
    /// so no pod's namespace can have that name).
    public static func nodeNetns(name: String, first: Bool) -> String {
        first ? nodeNetns : nodeNetns + "_" + name
    }

    /// The veth, inside one node, that leads to node `peer`.
    public static func nodeLinkInterface(peer: String) -> String {
        nodeLinkPrefix + peer
    }

    /// Prefix of host-side veths, as Cilium names them.
    static let hostInterfacePrefix = "lxc"

    /// `sluice-<namespace>-<pod>`, or, when that is longer than `maxNetnsNameLength` or
    /// `forceHash` is set (two pods would get the same name), a shortened name with an 8-hex
    /// hash of `namespace/pod`.
    public static func netnsName(namespace: String, pod: String, forceHash: Bool = false) -> String {
        let plain = "\(netnsPrefix)\(namespace)-\(pod)"
        guard forceHash || plain.utf8.count > maxNetnsNameLength else { return plain }
        let suffix = "-" + FNV1a.hex(FNV1a.hash32("\(namespace)/\(pod)".utf8))
        let keep = maxNetnsNameLength - suffix.utf8.count
        return String(plain.utf8.prefix(keep)).map { $0 + suffix } ?? netnsPrefix + FNV1a.hex(FNV1a.hash32(plain.utf8))
    }

    /// `lxc` and 8 hex digits of a hash of `namespace/pod` (and `salt`, raised by the planner
    /// when two pods collide): 11 bytes, within IFNAMSIZ.
    public static func hostInterfaceName(namespace: String, pod: String, salt: Int = 0) -> String {
        let key = salt == 0 ? "\(namespace)/\(pod)" : "\(namespace)/\(pod)#\(salt)"
        return hostInterfacePrefix + FNV1a.hex(FNV1a.hash32(key.utf8))
    }

    /// Whether `name` is one the sandbox may have made (used by `down` on leftovers).
    public static func isSandboxNetns(_ name: String) -> Bool {
        name.hasPrefix(netnsPrefix) && name.utf8.count > netnsPrefix.utf8.count
    }
}
