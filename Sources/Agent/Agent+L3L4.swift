import Datapath

/// The agent's attach step: once the maps hold the policy (`NodePolicy.installAtStart`), the
/// tc programs go on each endpoint's host-side veth — `sluice_tc_to_endpoint` on clsact egress,
/// so traffic from the node and world toward a pod meets the pod's ingress policy, and
/// `sluice_tc_endpoint` on clsact ingress — so a newly attached program enforces the whole
/// policy from its first packet.
extension Agent {
    /// Attaches both programs to every endpoint with a host-side interface. Control thread.
    func attachPrograms(_ datapath: Datapath) throws {
        for (_, ifindex) in ifindexes.sorted(by: { $0.key < $1.key }) where ifindex > 0 {
            try datapath.attachToEndpoint(ifindex: ifindex)
        }
        for endpoint in policy.endpoints {
            if let ifindex = ifindexes[endpoint.id], ifindex > 0 {
                try datapath.attachEndpoint(ifindex: ifindex)
                attachedEndpoints.insert(endpoint.id)
            }
        }
    }
}
