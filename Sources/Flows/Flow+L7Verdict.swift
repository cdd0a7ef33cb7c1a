import SluiceModel

/// What the proxy's L7 decision adds to a request flow beyond Hubble's fields: why the side decided
/// as it did and which `headerMatches` mismatch actions fired. Hubble's flow has no field for
/// either (Cilium writes missing and rejected headers to the proxy's access log only,
/// cilium-semantics.md 1.6), so `sluice observe -o json` carries them as two entries of
/// `l7.http.headers` under names no request can send (`L7Verdict.reasonKey`,
/// `headerActionsKey`: a leading `:` is no HTTP/1 field name, and an unknown pseudo-header makes an
/// HTTP/2 request malformed): the line stays valid `flow.proto` for any protojson reader, and
/// Sluice's JSON reader turns them back into `l7Verdict` (docs/architecture.md, "Flow records").
/// The policy that decided is in `*_allowed_by` / `*_denied_by`. Stored in the record's
/// `sluice_flow_http.reason` and `header_actions` bytes.
extension Flow {
    /// The L7 verdict detail of one request flow.
    public struct L7Verdict: Sendable, Equatable {
        /// Why the flow's side allowed or denied the request.
        public var reason: L7Reason
        /// The mismatch actions of the rule that matched whose header did not match the request.
        public var headerActions: HeaderActions

        /// Creates the detail.
        public init(reason: L7Reason, headerActions: HeaderActions = []) {
            self.reason = reason
            self.headerActions = headerActions
        }

        /// The `l7.http.headers` key of the reason in `-o json`.
        public static let reasonKey = ":sluice-reason"
        /// The `l7.http.headers` key of the fired header actions (`LOG,ADD`), when any.
        public static let headerActionsKey = ":sluice-header-actions"

        /// The detail as `l7.http.headers` entries, sorted by key like the real ones.
        public var headers: [HTTP.Header] {
            var out: [HTTP.Header] = []
            if !headerActions.isEmpty {
                out.append(HTTP.Header(key: Self.headerActionsKey, value: headerActions.description))
            }
            out.append(HTTP.Header(key: Self.reasonKey, value: reason.description))
            return out
        }

        /// Takes the detail's entries out of `headers` (what `headers` put there); nil when there
        /// is no known reason among them.
        public static func take(from headers: inout [HTTP.Header]) -> L7Verdict? {
            var reason: L7Reason?
            var actions: HeaderActions = []
            headers.removeAll { header in
                switch header.key {
                case reasonKey:
                    reason = L7Reason.allCases.first { $0.description == header.value }
                    return true
                case headerActionsKey:
                    actions = HeaderActions(text: header.value)
                    return true
                default:
                    return false
                }
            }
            return reason.map { L7Verdict(reason: $0, headerActions: actions) }
        }
    }

    /// Why one side decided an HTTP request as it did. Raw values are the record's `reason` byte
    /// (`enum sluice_l7_reason`); 0 is "no reason recorded".
    public enum L7Reason: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        /// An HTTP rule selecting the peer matched the request.
        case ruleMatched = 1
        /// A rule with no L7 part (L4-only, from any policy) admits the peer: every request passes.
        case l4OnlyAllow = 2
        /// Ingress from the host, allowed at L7 by allow-localhost (Cilium's `hostWildcardL7`).
        case localhost = 3
        /// Nothing to enforce at L7 on this side: no HTTP rules on the port (any more), or no rule
        /// selecting the endpoint asks for default deny.
        case notEnforced = 4
        /// Rules select the peer on this port but none matched the request.
        case noRuleMatched = 5
        /// An `ingressDeny` / `egressDeny` rule covers the peer and port.
        case deniedByPolicy = 6
        /// No rule admits the peer on this port at all (an L3/L4 drop).
        case peerNotAllowed = 7
        /// The port carries DNS rules on the egress side and HTTP rules here: no parser applies both.
        case parserMismatch = 8
        /// The connection was not steered: nothing says whose rules apply.
        case notSteered = 9

        /// `rule-matched`, `l4-only-allow`, `localhost`, `not-enforced`, `no-rule-matched`,
        /// `denied-by-policy`, `peer-not-allowed`, `parser-mismatch`, `not-steered`.
        public var description: String { Self.texts[Int(rawValue) - 1] }

        /// The texts, in raw-value order from 1.
        private static let texts = [
            "rule-matched", "l4-only-allow", "localhost", "not-enforced", "no-rule-matched", "denied-by-policy",
            "peer-not-allowed", "parser-mismatch", "not-steered",
        ]
    }

    /// `headerMatches` mismatch actions (cilium/proxy HeaderMatch), each `HeaderMismatchAction`'s
    /// bit as in the record's `header_actions` byte.
    public struct HeaderActions: OptionSet, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// The set of `action` alone.
        public init(_ action: HeaderMismatchAction) { rawValue = action.bit }

        /// LOG: let the request through, log the header as missing.
        public static let log = HeaderActions(HeaderMismatchAction.log)
        /// ADD: add the expected value.
        public static let add = HeaderActions(HeaderMismatchAction.add)
        /// DELETE: remove the header.
        public static let delete = HeaderActions(HeaderMismatchAction.delete)
        /// REPLACE: set the header to the expected value.
        public static let replace = HeaderActions(HeaderMismatchAction.replace)

        /// The actions `description` names (unknown names are ignored).
        public init(text: String) {
            self = []
            for name in text.split(separator: ",") {
                if let action = HeaderMismatchAction(rawValue: String(name)) { insert(HeaderActions(action)) }
            }
        }

        /// `LOG,ADD,DELETE,REPLACE` (the set ones, in that order), or empty.
        public var description: String {
            HeaderMismatchAction.allCases.filter { contains(HeaderActions($0)) }.map(\.name).joined(separator: ",")
        }
    }
}
