import Policy
import SluiceModel

/// How each side of one connection decides its HTTP requests, found once per policy snapshot
/// instead of once per request: the port policy of each side (`PolicySnapshot.httpPolicy`, a
/// dictionary lookup with its hashing and a retain and release of the policy per side and
/// request before), or the fixed answer of a side whose port has no HTTP rules. A connection
/// keeps one (`HTTP1Connection`, `HTTP2Connection`) and finds the deciders again when its worker
/// installs another snapshot (`WorkerContext.snapshotGeneration`); `HTTPVerdict.evaluate` finds
/// them for one request.
///
/// Deciding a request copies nothing reference-counted: a decider is trivial, and a port policy
/// is called through `Unmanaged` while the snapshot it came from (held here) keeps it alive.
/// Loop-thread only, like the connection that owns it.
struct HTTPPortDeciders {
    /// How one side decides.
    enum Decider: Equatable {
        /// The side's rules do not apply to this connection: it is not asked.
        case notAsked
        /// The same answer for every request: the port has no HTTP rules on this side.
        case fixed(HTTPVerdict.Side)
        /// The port's HTTP rules, for `peer`. `withActions`: a rule carries header actions, so
        /// the whole `Verdict` is needed (`decide`, then `HTTPHeaderEdits.run`); else
        /// `briefDecide`.
        case rules(Unmanaged<HTTPPortPolicy>, peer: UInt32, withActions: Bool)

        static func == (a: Decider, b: Decider) -> Bool {
            switch (a, b) {
            case (.notAsked, .notAsked): return true
            case (.fixed(let x), .fixed(let y)): return x == y
            case (.rules(let p, let x, let w), .rules(let q, let y, let v)):
                return p.toOpaque() == q.toOpaque() && x == y && w == v
            default: return false
            }
        }
    }

    /// The egress side (the source endpoint's rules, peer: the destination identity).
    private(set) var egress = Decider.notAsked
    /// The ingress side (the destination endpoint's rules, peer: the source identity).
    private(set) var ingress = Decider.notAsked
    /// No steering entry, or one that names no side: every request is refused, no side asked.
    private(set) var unsteered = true
    /// The snapshot the deciders were found in: it keeps their port policies alive.
    private var snapshot: PolicySnapshot?
    /// The `WorkerContext.snapshotGeneration` they were found at; 0: not yet.
    private var generation: UInt64 = 0

    /// Deciders found at the first request.
    init() {}

    /// The deciders of the connection `steer` describes, on TCP `port`, in `snapshot`.
    init(steer: SteerInfo?, snapshot: PolicySnapshot, port: UInt16) {
        find(steer: steer, snapshot: snapshot, port: port)
    }

    /// Decides `request` with the snapshot in force on `ctx`'s worker, finding the deciders
    /// again first when the worker installed another one since they were found.
    mutating func evaluate<R: HTTPRequestFields>(
        _ request: R, steer: SteerInfo?, ctx: WorkerContext, port: UInt16, edits: inout HTTPHeaderEdits
    ) -> HTTPVerdict {
        if generation != ctx.snapshotGeneration {
            find(steer: steer, snapshot: ctx.snapshot, port: port)
            generation = ctx.snapshotGeneration
        }
        return evaluate(request, edits: &edits)
    }

    /// Decides `request`: the egress side first; a request it denies is not asked on the ingress
    /// side (as Cilium's second proxy never sees it). `edits` is emptied, then says what the
    /// matching rules' header actions do to the request, egress side first.
    func evaluate<R: HTTPRequestFields>(_ request: R, edits: inout HTTPHeaderEdits) -> HTTPVerdict {
        edits.removeAll()
        if unsteered { return HTTPVerdict(unsteered: true) }
        var result = HTTPVerdict()
        if let side = Self.decide(egress, direction: .egress, request, &edits) {
            result.egress = side
            if !side.allowed { return result }
        }
        result.ingress = Self.decide(ingress, direction: .ingress, request, &edits)
        return result
    }

    private mutating func find(steer: SteerInfo?, snapshot: PolicySnapshot, port: UInt16) {
        self.snapshot = snapshot
        egress = .notAsked
        ingress = .notAsked
        guard let steer, !steer.sides.isEmpty else {
            unsteered = true
            return
        }
        unsteered = false
        if steer.sides.contains(.egress) {
            egress = Self.decider(
                snapshot, endpoint: steer.sourceEndpoint, direction: .egress, port: port,
                peer: steer.destinationIdentity)
        }
        if steer.sides.contains(.ingress) {
            ingress = Self.decider(
                snapshot, endpoint: steer.destinationEndpoint, direction: .ingress, port: port,
                peer: steer.sourceIdentity)
        }
    }

    /// One side's decider. A side whose port has no HTTP rules (any more: the policy changed
    /// after the SYN was steered) has nothing to enforce at L7, unless the port carries DNS or
    /// `serverNames` rules there: one proxy cannot parse one connection as both, so that fails
    /// closed (tc drops DNS-vs-HTTP connections before they are steered, `sluice_steer_drop`).
    private static func decider(
        _ snapshot: PolicySnapshot, endpoint: UInt32, direction: Direction, port: UInt16, peer: UInt32
    ) -> Decider {
        if let policy = snapshot.httpPolicy(endpointID: endpoint, direction: direction, port: port) {
            return .rules(Unmanaged.passUnretained(policy), peer: peer, withActions: policy.hasHeaderActions)
        }
        if (direction == .egress && snapshot.dnsPolicy(endpointID: endpoint, port: port, proto: IPProtocol.tcp) != nil)
            || snapshot.tlsPolicy(endpointID: endpoint, direction: direction, port: port) != nil
        {
            return .fixed(HTTPVerdict.Side(allowed: false, reason: .parserMismatch, policyRef: 0))
        }
        return .fixed(HTTPVerdict.Side(allowed: true, reason: .notEnforced, policyRef: 0))
    }

    /// One side's decision; nil when the side is not asked.
    private static func decide<R: HTTPRequestFields>(
        _ decider: Decider, direction: Direction, _ request: R, _ edits: inout HTTPHeaderEdits
    ) -> HTTPVerdict.Side? {
        switch decider {
        case .notAsked:
            return nil
        case .fixed(let side):
            return side
        case .rules(let policy, let peer, false):
            // The common port: the verdict's fields only, no `Verdict` (name, actions) copied.
            return policy._withUnsafeGuaranteedRef {
                HTTPVerdict.Side($0.briefDecide(peerIdentity: peer, request: request), direction: direction, peer: peer)
            }
        case .rules(let policy, let peer, true):
            let verdict = policy._withUnsafeGuaranteedRef { $0.decide(peerIdentity: peer, request: request) }
            var side = HTTPVerdict.Side(verdict, direction: direction, peer: peer)
            if verdict.allowed && !verdict.headerActions.isEmpty {
                side.headerActions = edits.run(verdict.headerActions, on: request)
            }
            return side
        }
    }
}
