/// The HTTP rules in force for one (endpoint, direction, port): every rule of every policy that
/// covers the port, per peer, ORed (Cilium semantics 1.5 and 1.10). Immutable; any thread.
public final class HTTPPortPolicy: @unchecked Sendable {
    /// One rule source: the peers it selects and either HTTP rules or nothing (L4-only). A
    /// rule's verdict is the same for every rule of the entry (`verdict`) but for its header
    /// actions.
    typealias Entry = PortRuleSource<HTTPRule>

    /// Deny entries first in meaning: a covered peer is refused before anything else.
    let denies: [(peers: PeerSet, verdict: Verdict)]
    /// L4-only entries first, so the cheap decision is found without running a regex.
    let entries: [Entry]
    /// False when no rule selecting the endpoint asks for default deny (`enableDefaultDeny`).
    let defaultDeny: Bool
    /// The entries selecting each peer (nil: few entries, scanned).
    let index: PeerIndex?

    /// The port's TLS interception (`terminatingTLS`/`originatingTLS`), nil: plain HTTP.
    public let interception: TLSInterception?

    init(
        denies: [(peers: PeerSet, verdict: Verdict)], entries: [Entry], defaultDeny: Bool,
        interception: TLSInterception? = nil
    ) {
        self.interception = interception
        self.denies = denies
        let ordered = Entry.l4OnlyFirst(entries)
        self.entries = ordered
        index = PeerIndex(ordered.map(\.peers))
        self.defaultDeny = defaultDeny
        hasHeaderActions = entries.contains { entry in
            entry.rules?.contains { !$0.headerActions.isEmpty } ?? false
        }
    }

    /// Some rule carries `headerMatches` with a mismatch action: every rule is run, as
    /// cilium/proxy does (`have_header_matches_`), so that every matching rule's actions apply;
    /// the proxy then asks `decide` for the verdict with the actions, else `briefDecide`.
    public let hasHeaderActions: Bool

    /// Decides one request from `peerIdentity` (the source identity on ingress, the destination
    /// identity on egress). A request no rule matched is denied in the name of the first policy
    /// (by kind, namespace, name) whose rules select the peer.
    ///
    /// Without header actions the first match decides and nothing is allocated. With them, like
    /// cilium/proxy, every entry selecting the peer and every rule matching the request is run:
    /// the first match still names the verdict, and the verdict carries the mismatch actions of
    /// all matching rules, in rule order.
    public func decide<R: HTTPRequestFields>(peerIdentity: UInt32, request: R) -> Verdict {
        if hasHeaderActions {
            for i in denies.indices where denies[i].peers.contains(peerIdentity) { return denies[i].verdict }
            return decideRunningEveryRule(peerIdentity: peerIdentity, request: request)
        }
        switch decision(peerIdentity: peerIdentity, request: request) {
        case .deny(let i): return denies[i].verdict
        case .admit(let e): return entries[e].verdict
        case .noMatch(let e): return entries[e].noMatch
        case .peerNotAllowed: return .peerNotAllowed
        case .notEnforced: return .notEnforced
        }
    }

    /// `decide`'s allowed, reason and policy reference, with nothing reference-counted copied
    /// (a `Verdict` holds the policy name and the header actions: copying one out of the policy
    /// and dropping it was a retain and a release of each per side and request). What the proxy
    /// reads of a decision when the port has no header actions (`hasHeaderActions`); with them it
    /// is `decide`'s verdict made brief.
    public func briefDecide<R: HTTPRequestFields>(peerIdentity: UInt32, request: R) -> BriefVerdict {
        if hasHeaderActions { return BriefVerdict(decide(peerIdentity: peerIdentity, request: request)) }
        return decision(peerIdentity: peerIdentity, request: request).brief(denies: denies, entries: entries)
    }

    /// The first-match walk. Through buffer pointers: an element is read in place (an Array
    /// subscript or a for-in loop copies the whole entry or rule, a retain and release per
    /// field).
    @inline(__always)
    private func decision<R: HTTPRequestFields>(peerIdentity: UInt32, request: R) -> PortDecision {
        for i in denies.indices where denies[i].peers.contains(peerIdentity) { return .deny(i) }
        return entries.withUnsafeBufferPointer { entries -> PortDecision in
            var selected = -1
            var decided = -1
            // One entry that selects the peer: false once it decides.
            func visit(_ e: Int) -> Bool {
                // Tested and unwrapped in place: `guard let` would copy (retain) the array.
                guard entries[e].rules != nil else {
                    decided = e
                    return false
                }
                if selected < 0 { selected = e }
                // The rules' buffer taken out of `withUnsafeBufferPointer`: the array is an
                // immutable part of this policy, which the caller keeps alive, so its storage
                // stays put. Matching inside the closure made the compiler retain and release the
                // array around the (not inlined) closure, once per request.
                let rules = entries[e].rules!.withUnsafeBufferPointer { $0 }
                var found = false
                for r in rules.indices where HTTPRule.matches(rules.baseAddress! + r, request) {
                    found = true
                    break
                }
                guard found else { return true }
                decided = e
                return false
            }
            if let index {
                index.forEach(selecting: peerIdentity, visit)
            } else {
                for e in entries.indices where entries[e].peers.contains(peerIdentity) {
                    if !visit(e) { break }
                }
            }
            if decided >= 0 { return .admit(decided) }
            if selected >= 0 { return .noMatch(selected) }
            return defaultDeny ? .peerNotAllowed : .notEnforced
        }
    }

    /// `decide` when some rule has header actions: all matching rules run, their actions collected.
    private func decideRunningEveryRule<R: HTTPRequestFields>(peerIdentity: UInt32, request: R) -> Verdict {
        var first: Verdict?
        var actions: [HTTPHeaderAction] = []
        var selected: Entry?
        for entry in entries where entry.peers.contains(peerIdentity) {
            guard let rules = entry.rules else {
                if first == nil { first = entry.verdict }
                continue
            }
            if selected == nil { selected = entry }
            for rule in rules where rule.matches(request) {
                if first == nil { first = entry.verdict }
                actions += rule.headerActions
            }
        }
        if var first {
            first.headerActions = actions
            return first
        }
        if let selected { return selected.noMatch }
        return defaultDeny ? .peerNotAllowed : .notEnforced
    }

    /// Canonical text, one line per rule source, for dumps and tests.
    var canonical: [String] {
        var tls: [String] = []
        if let interception {
            var line = "tls"
            if let t = interception.terminating { line += " terminating \(t.secretName)" }
            if let o = interception.originating { line += " originating \(o.secretName)" }
            if !interception.serverNames.isEmpty {
                line += " serverNames [" + interception.serverNames.map(\.description).joined(separator: ", ") + "]"
            }
            if interception.certificates.count > 1 {
                line +=
                    " certificates ["
                    + interception.certificates.map {
                        ($0.serverNames.isEmpty ? "*" : $0.serverNames.map(\.description).joined(separator: " "))
                            + ": " + $0.context.secretName
                    }.joined(separator: ", ") + "]"
            }
            tls.append(line)
        }
        return Entry.canonical(denies: denies, sources: entries, extra: tls, defaultDeny: defaultDeny) { entry in
            guard let rules = entry.rules else { return [entry.line("allow-all")] }
            return rules.map { entry.line("http \($0.canonical)") }
        }
    }
}
