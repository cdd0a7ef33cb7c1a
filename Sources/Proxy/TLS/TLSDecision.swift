import Flows
import Policy
import SluiceModel

/// The decision on a TLS connection to a port with `serverNames` rules, from its ClientHello's
/// SNI: every side whose rules apply (`SteerInfo.sides`) is asked, egress first, as for an HTTP
/// request (`HTTPVerdict`, whose value this returns: `action` forward = splice, forbid = reset
/// with a DROPPED flow, reset = the L3/L4 policy drop).
enum TLSDecision {
    /// Whether a connection steered as `steer` to TCP `port` is judged by `serverNames` rules:
    /// some side it is steered for has them there.
    static func appliesTo(steer: SteerInfo?, snapshot: PolicySnapshot, port: UInt16) -> Bool {
        guard let steer else { return false }
        if steer.sides.contains(.egress),
            snapshot.tlsPolicy(endpointID: steer.sourceEndpoint, direction: .egress, port: port) != nil
        {
            return true
        }
        return steer.sides.contains(.ingress)
            && snapshot.tlsPolicy(endpointID: steer.destinationEndpoint, direction: .ingress, port: port) != nil
    }

    /// Decides the connection whose ClientHello named `serverName` (nil: no SNI, or the bytes
    /// were no ClientHello).
    static func evaluate(serverName: String?, steer: SteerInfo?, snapshot: PolicySnapshot, port: UInt16)
        -> HTTPVerdict
    {
        guard let steer, !steer.sides.isEmpty else { return HTTPVerdict(unsteered: true) }
        var result = HTTPVerdict()
        if steer.sides.contains(.egress) {
            result.egress = decide(
                snapshot, endpoint: steer.sourceEndpoint, direction: .egress, port: port,
                peer: steer.destinationIdentity, serverName: serverName)
            if result.egress?.allowed == false { return result }
        }
        if steer.sides.contains(.ingress) {
            result.ingress = decide(
                snapshot, endpoint: steer.destinationEndpoint, direction: .ingress, port: port,
                peer: steer.sourceIdentity, serverName: serverName)
        }
        return result
    }

    /// One side. A side whose port has HTTP or DNS rules instead fails closed (one connection
    /// cannot be judged both by its SNI and as HTTP requests); a side with no L7 rules there
    /// enforces nothing.
    private static func decide(
        _ snapshot: PolicySnapshot, endpoint: UInt32, direction: Direction, port: UInt16, peer: UInt32,
        serverName: String?
    ) -> HTTPVerdict.Side {
        if let policy = snapshot.tlsPolicy(endpointID: endpoint, direction: direction, port: port) {
            let verdict = policy.decide(peerIdentity: peer, serverName: serverName)
            return HTTPVerdict.Side(verdict, direction: direction, peer: peer)
        }
        if snapshot.httpPolicy(endpointID: endpoint, direction: direction, port: port) != nil
            || (direction == .egress
                && snapshot.dnsPolicy(endpointID: endpoint, port: port, proto: IPProtocol.tcp) != nil)
        {
            return HTTPVerdict.Side(allowed: false, reason: .parserMismatch, policyRef: 0)
        }
        return HTTPVerdict.Side(allowed: true, reason: .notEnforced, policyRef: 0)
    }
}
