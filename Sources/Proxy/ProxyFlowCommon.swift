import Flows

/// What the proxy's flow recorders (HTTP/1 and HTTP/2 through `HTTPFlowRecorder`, DNS through
/// `DNSFlowRecorder`) write alike: the connection's part of every record and the L3/L4 drop of a
/// peer no rule admits.
extension FlowCommon {
    /// The part of every record of one proxied connection or query: client → server addresses
    /// (IPv4, network order), `l4Proto`, `direction`, and both endpoints and identities of the
    /// steering entry (0 when not steered). Time and verdict are set per record.
    static func proxied(
        clientAddress: UInt32, clientPort: UInt16, serverAddress: UInt32, serverPort: UInt16,
        l4Proto: UInt8, direction: Flow.TrafficDirection, steer: SteerInfo?,
        verdict: Flow.Verdict = .forwarded, timeNs: UInt64 = 0
    ) -> FlowCommon {
        FlowCommon(
            timeNs: timeNs, verdict: verdict, direction: direction, isReply: false,
            srcIP: clientAddress, dstIP: serverAddress, srcPort: clientPort, dstPort: serverPort, l4Proto: l4Proto,
            srcIdentity: steer?.sourceIdentity ?? 0, dstIdentity: steer?.destinationIdentity ?? 0,
            srcEndpoint: steer?.sourceEndpoint ?? 0, dstEndpoint: steer?.destinationEndpoint ?? 0)
    }

    /// The direction of the first side whose rules apply to a steered connection (egress when the
    /// source's egress rules do), UNKNOWN when not steered.
    static func firstDirection(_ steer: SteerInfo?) -> Flow.TrafficDirection {
        guard let steer else { return .unknown }
        return steer.firstDirection == .egress ? .egress : .ingress
    }
}

extension FlowSink {
    /// No rule admits the peer on this port on `common.direction`'s side (or nothing says whose
    /// rules apply): the L3/L4 drop Cilium's datapath would have written (reason 133, Policy
    /// denied).
    func appendPolicyDrop(_ common: FlowCommon) {
        var c = common
        c.dropReason = DropReason.policyDenied
        append { FlowRecordWriter.writeL3L4Drop($0, common: c) }
    }
}
