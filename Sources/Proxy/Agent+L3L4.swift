import Datapath
import Policy
import SluiceIO
import SluiceJSON

/// The agent's L3/L4 policy step: the compiled snapshot's policy map, enforcement flags and
/// ipcache go into the datapath (`Datapath.syncL3L4`), and the to-endpoint program is attached
/// to each endpoint's host-side veth (clsact egress) so traffic from the node and world toward a
/// pod meets the pod's ingress policy.
extension Agent {
    /// The node's own addresses as the endpoints file gives them (`nodeIP` in the sandbox's
    /// state.json); absent is allowed (the datapath still treats locally generated packets as
    /// the host).
    private struct NodeAddresses: Decodable {
        var nodeIP: String?
    }

    /// Installs the L3/L4 policy of `snapshot` (no-op without a datapath) and, for each
    /// `attaching` entry (endpoint ID -> host-side ifindex, > 0), attaches the to-endpoint
    /// program. Maps are written before any program is attached, so a newly attached program
    /// enforces the full policy from its first packet. Control thread only.
    /// With `fqdnWriter` the learned toFQDNs addresses are kept (synced with the snapshot).
    func installL3L4(_ snapshot: PolicySnapshot, datapath: Datapath?, fqdnWriter: FQDNPolicyWriter?,
                     attaching ifindexes: [UInt32: Int32] = [:]) throws {
        guard let datapath else { return }
        if let fqdnWriter {
            try fqdnWriter.sync(snapshot)
        } else {
            try datapath.syncL3L4(snapshot, hostIPv4: nodeIPv4Addresses())
        }
        for (_, ifindex) in ifindexes.sorted(by: { $0.key < $1.key }) where ifindex > 0 {
            try datapath.attachToEndpoint(ifindex: ifindex)
        }
    }

    /// The node addresses (network order) read from the endpoints file; empty when it has none.
    func nodeIPv4Addresses() -> [UInt32] {
        guard let data = Files.readIfPresent(options.endpointsFile),
              let file = try? JSON.decode(NodeAddresses.self, from: data),
              let text = file.nodeIP, let ip = IPv4Text.parse(text)
        else { return [] }
        return [ip]
    }
}
