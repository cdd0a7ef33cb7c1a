import Flows
import Policy
import SluiceModel

/// The one decision on an HTTP request, for HTTP/1 heads and HTTP/2 streams alike: every side
/// whose rules apply to its connection (`SteerInfo.sides`) is asked, the source endpoint's egress
/// rules first and then the destination endpoint's ingress rules, and the request passes only when
/// every side allows it. The value carries the whole verdict: what the connection does, which side
/// decided, why, and the policies' references; the `headerMatches` mismatch actions to apply go to
/// the caller's `HTTPHeaderEdits`. The flow recorder (`HTTPFlowRecorder`) writes it into each
/// side's request flow. Trivial (no reference-counted field): returning, passing and dropping it
/// per request retains nothing.
///
/// Cilium sends a connection with L7 rules on both sides through two proxies: the egress proxy
/// decides first and a request it denies never reaches the ingress proxy; each proxy writes its
/// own L7 flows (cilium-hardening.md 5). Sluice decides both sides in one pass in the same order,
/// and the recorder writes one request (and response) flow per side that saw the request, with
/// that side's `traffic_direction`, so Hubble shows what two proxies would have shown.
struct HTTPVerdict: Equatable {
    /// One side's decision.
    struct Side: Equatable {
        /// Whether this side lets the request pass.
        var allowed: Bool
        /// Why.
        var reason: Flow.L7Reason
        /// `PolicyKey.ref` of the policy that decided, what the flow record carries (and `sluice
        /// observe` names); 0 when none did (not enforced, localhost, no rule admits the peer,
        /// parser mismatch).
        var policyRef: UInt32
        /// The `headerMatches` mismatch actions of this side's matching rules that fired on this
        /// request (LOG, ADD, DELETE, REPLACE; `HTTPHeaderEdits`). Empty unless a rule asks.
        var headerActions: Flow.HeaderActions = []

        /// The part the flow record keeps: the reason and the actions as bits.
        var recorded: Flow.L7Verdict { Flow.L7Verdict(reason: reason, headerActions: headerActions) }
    }

    /// What the connection does with the request.
    enum Action: Equatable {
        /// Every side allowed: forward it.
        case forward
        /// A side's rules denied it: answer 403 (gRPC: trailers-only PERMISSION_DENIED).
        case forbid
        /// No rule admits the peer on this port at all, or nothing says whose rules apply: Cilium
        /// drops it at L3/L4, so the client sees a dead connection, not an HTTP answer.
        case reset
    }

    /// The egress side's decision (peer: the destination identity); nil when that side's rules
    /// do not apply.
    var egress: Side?
    /// The ingress side's decision (peer: the source identity); nil when that side's rules do not
    /// apply or the egress side denied.
    var ingress: Side?
    /// No steering entry: the request is refused like an unknown peer, no side was asked.
    var unsteered = false

    /// What the connection does. Reads the sides' fields in place (no copy of a side: this runs
    /// for every request). Inlined: a call passed the verdict, just stored byte by byte, as
    /// words, and the loads waited for the stores (store-forwarding stalls in `decide`).
    var action: Action {
        @inline(__always) get {
            if unsteered { return .reset }
            let allowed: Bool
            let reason: Flow.L7Reason
            if egress?.allowed == false {
                return egress?.reason == .peerNotAllowed ? .reset : .forbid
            } else if let a = ingress?.allowed, let r = ingress?.reason {
                (allowed, reason) = (a, r)
            } else if let a = egress?.allowed, let r = egress?.reason {
                (allowed, reason) = (a, r)
            } else {
                return .reset
            }
            if allowed { return .forward }
            return reason == .peerNotAllowed ? .reset : .forbid
        }
    }

    /// Whether the request passes.
    var allowed: Bool { action == .forward }

    /// The side whose decision stands, with its direction: the side that denied, else the last
    /// side that allowed (ingress when both did); nil when not steered.
    var deciding: (direction: Flow.TrafficDirection, side: Side)? {
        if unsteered { return nil }
        if let e = egress, !e.allowed { return (.egress, e) }
        if let i = ingress { return (.ingress, i) }
        if let e = egress { return (.egress, e) }
        return nil
    }

    /// Why the request passes or not: the deciding side's reason.
    var reason: Flow.L7Reason { deciding?.side.reason ?? .notSteered }

    /// The references of the policies that decided, egress side first (0s left out).
    var policyRefs: [UInt32] { [egress?.policyRef ?? 0, ingress?.policyRef ?? 0].filter { $0 != 0 } }

    /// Decides `request` (an HTTP/1 head or an HTTP/2 stream, as `HTTPRequestFields`) on TCP
    /// `port` of the connection `steer` describes, with the rules of `snapshot`. `edits` is
    /// emptied, then says what the matching rules' header actions do to the request, egress side
    /// first; nothing is allocated or copied unless a rule on the port carries such actions. A
    /// connection keeps its `HTTPPortDeciders` instead, found once per snapshot.
    static func evaluate<R: HTTPRequestFields>(
        _ request: R, steer: SteerInfo?, snapshot: PolicySnapshot,
        port: UInt16, edits: inout HTTPHeaderEdits
    ) -> HTTPVerdict {
        HTTPPortDeciders(steer: steer, snapshot: snapshot, port: port).evaluate(request, edits: &edits)
    }
}

extension HTTPVerdict.Side {
    /// One side's Policy verdict (on an HTTP request, or on a TLS connection's SNI:
    /// `TLSDecision`) for `peer` in `direction`, with Policy's reason told apart where its words
    /// cover two cases: an allow without L7 rules and without a policy is allow-localhost for the
    /// host on ingress, else no default deny. "Without a policy" is `policyRef` 0: a compiled
    /// verdict names a policy exactly when it carries its reference (`PolicyKey.ref` is never 0).
    init(_ verdict: BriefVerdict, direction: Direction, peer: UInt32) {
        let reason: Flow.L7Reason
        switch verdict.reason {
        case .ruleMatched: reason = .ruleMatched
        case .noRuleMatched: reason = .noRuleMatched
        case .peerNotAllowed: reason = .peerNotAllowed
        case .deniedByPolicy: reason = .deniedByPolicy
        case .l4OnlyAllow:
            if verdict.policyRef != 0 {
                reason = .l4OnlyAllow
            } else {
                reason = direction == .ingress && peer == ReservedIdentity.host ? .localhost : .notEnforced
            }
        }
        self.init(allowed: verdict.allowed, reason: reason, policyRef: verdict.policyRef)
    }

    /// The side of a whole `Verdict` (its header actions are the caller's to run).
    init(_ verdict: Verdict, direction: Direction, peer: UInt32) {
        self.init(BriefVerdict(verdict), direction: direction, peer: peer)
    }
}
