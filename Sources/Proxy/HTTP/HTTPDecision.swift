import Flows
import Policy

/// The L7 decision of one request on every side whose rules apply to its connection
/// (`SteerInfo.sides`): the source endpoint's egress rules and the destination endpoint's ingress
/// rules. The request passes only when every side allows it.
///
/// Cilium sends a connection with L7 rules on both sides through two proxies: the egress proxy
/// decides first and a request it denies never reaches the ingress proxy; each proxy writes its
/// own L7 flows (cilium-hardening.md 5). Sluice decides both sides in one pass in the same order,
/// and the flow recorders write one request (and response) flow per side that saw the request,
/// with that side's `traffic_direction`, so Hubble shows what two proxies would have shown.
struct SideVerdicts {
    /// The egress side's verdict (peer: the destination identity); nil when that side's rules do
    /// not apply.
    var egress: Verdict?
    /// The ingress side's verdict (peer: the source identity); nil when that side's rules do not
    /// apply or the egress side denied.
    var ingress: Verdict?
    /// No steering entry: nothing says whose rules apply, the request is refused like an unknown
    /// peer (Verdict.noSteering).
    var unsteered = false

    /// The side that denied, egress first, with its verdict; nil when the request passes.
    var denial: (direction: Flow.TrafficDirection, verdict: Verdict)? {
        if unsteered { return (.unknown, Verdict.noSteering) }
        if let e = egress, !e.allowed { return (.egress, e) }
        if let i = ingress, !i.allowed { return (.ingress, i) }
        return nil
    }

    /// Decides an HTTP request (HTTP/1 head or HTTP/2 stream) on TCP `port`.
    static func http<R: HTTPRequestFields>(steer: SteerInfo?, snapshot: PolicySnapshot, port: UInt16,
                                           request: R) -> SideVerdicts {
        guard let steer, !steer.sides.isEmpty else { return SideVerdicts(unsteered: true) }
        var result = SideVerdicts()
        if steer.sides.contains(.egress) {
            let verdict = httpSide(snapshot, endpoint: steer.sourceEndpoint, direction: .egress, port: port,
                                   peer: steer.destinationIdentity, request: request)
            result.egress = verdict
            if !verdict.allowed { return result }
        }
        if steer.sides.contains(.ingress) {
            result.ingress = httpSide(snapshot, endpoint: steer.destinationEndpoint, direction: .ingress, port: port,
                                      peer: steer.sourceIdentity, request: request)
        }
        return result
    }

    /// One side's HTTP verdict. A side whose port has no HTTP rules (any more: the policy changed
    /// after the SYN was steered) has nothing to enforce at L7, unless the port carries DNS rules
    /// there: one proxy cannot parse one connection as both, so that fails closed (tc drops such
    /// connections before they are steered, `sluice_steer_drop`).
    private static func httpSide<R: HTTPRequestFields>(_ snapshot: PolicySnapshot, endpoint: UInt32,
                                                       direction: Direction, port: UInt16, peer: UInt32,
                                                       request: R) -> Verdict {
        if let policy = snapshot.httpPolicy(endpointID: endpoint, direction: direction, port: port) {
            return policy.decide(peerIdentity: peer, request: request)
        }
        if direction == .egress && snapshot.dnsPolicy(endpointID: endpoint, port: port, proto: IPProtocol.tcp) != nil {
            return Verdict.parserConflict
        }
        return Verdict.noL7Rules
    }
}

extension Verdict {
    /// The two sides of a connection carry L7 rules of different kinds (HTTP on one, DNS on the
    /// other): no parser can apply both, so the request is refused.
    static let parserConflict = Verdict(allowed: false, reason: .noRuleMatched, policyName: nil)
}
