import SluiceModel

/// One compiled `rules.http[]` entry. All given matchers are ANDed; an empty rule matches every
/// request (cilium/pkg/envoy getHTTPRule, Envoy header matchers).
///
/// Immutable and shareable between snapshots; matching never allocates.
struct HTTPRule: Sendable, Equatable {
    /// A header that must be present, or present with exactly `value` (case-sensitive).
    struct HeaderRequirement: Sendable, Equatable {
        /// Lower-cased name bytes (names compare case-insensitively).
        var name: [UInt8]
        /// Exact value bytes; nil = presence only.
        var value: [UInt8]?
    }

    let method: Regex?
    let path: Regex?
    /// What few rules have (a host pattern, header requirements and actions, never-matches, their
    /// text), boxed so that a rule is three words: 10,000 rules are 400 KB less in the documents
    /// in force than with all of it inline, and an object's array of 10 rules 80 bytes less than
    /// with the host inline (docs/performance.md, s21-mem).
    private let extra: Extra?

    /// The boxed part of a rule with a host, header requirements, header actions or a secret.
    private final class Extra: Sendable, Equatable {
        let host: Regex?
        let headers: [HeaderRequirement]
        let headerActions: [HTTPHeaderAction]
        let neverMatches: Bool
        let headerCanonical: String?

        init(
            host: Regex?, headers: [HeaderRequirement], headerActions: [HTTPHeaderAction], neverMatches: Bool,
            headerCanonical: String?
        ) {
            self.host = host
            self.headers = headers
            self.headerActions = headerActions
            self.neverMatches = neverMatches
            self.headerCanonical = headerCanonical
        }

        static func == (a: Extra, b: Extra) -> Bool {
            a === b
                || (a.host == b.host && a.headers == b.headers && a.headerActions == b.headerActions
                    && a.neverMatches == b.neverMatches && a.headerCanonical == b.headerCanonical)
        }
    }

    init(
        method: Regex?, path: Regex?, host: Regex?, headers: [HeaderRequirement], headerActions: [HTTPHeaderAction],
        neverMatches: Bool, headerCanonical: String?
    ) {
        self.method = method
        self.path = path
        if host == nil, headers.isEmpty, headerActions.isEmpty, !neverMatches, headerCanonical == nil {
            extra = nil
        } else {
            extra = Extra(
                host: host, headers: headers, headerActions: headerActions, neverMatches: neverMatches,
                headerCanonical: headerCanonical)
        }
    }

    /// The `host` pattern (boxed: few rules have one).
    var host: Regex? { extra?.host }
    var headers: [HeaderRequirement] { extra?.headers ?? [] }
    /// `headerMatches` entries with a mismatch action: they never fail the rule.
    var headerActions: [HTTPHeaderAction] { extra?.headerActions ?? [] }
    /// Set when a `headerMatches` entry refers to a Secret and has no `value`: Sluice has no
    /// secrets, and Cilium makes such a rule never match.
    var neverMatches: Bool { extra?.neverMatches ?? false }
    /// The canonical text of the `headers` and `headerMatches` entries as written (nil when the
    /// rule has none, as most have): the rest of `canonical` comes from the patterns, so 10,000
    /// rules keep no listing text of their own.
    var headerCanonical: String? { extra?.headerCanonical }

    /// Canonical text for listings, e.g. `{method: GET, path: /get}` (built on demand).
    var canonical: String {
        var parts: [String] = []
        if let method { parts.append("method: \(method.pattern)") }
        if let path { parts.append("path: \(path.pattern)") }
        if let host { parts.append("host: \(host.pattern)") }
        if let headerCanonical { parts.append(headerCanonical) }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// Whether the request satisfies every matcher of the rule.
    func matches<R: HTTPRequestFields>(_ request: R) -> Bool {
        withUnsafePointer(to: self) { Self.matches($0, request) }
    }

    /// Whether the request satisfies every matcher of the rule at `rule`, read in place: the
    /// per-request path (`HTTPPortPolicy.decide`) passes a pointer into the policy's array (which
    /// the caller's snapshot keeps alive) instead of the rule itself, because a call on a rule
    /// read from that memory copies it first, a retain and release of each of its patterns.
    /// The patterns are then taken as unretained references before any call. (Until s20-mem a
    /// `Regex` had a side table, the intern table's weak reference, so each of those retains and
    /// releases took the runtime's slow path: 2.7 % of get-ka's agent samples, docs/performance.md
    /// s18-own; the table holds them strongly now, but no retain is still cheaper than one.)
    @inline(__always)
    static func matches<R: HTTPRequestFields>(_ rule: UnsafePointer<HTTPRule>, _ request: R) -> Bool {
        let method = unretained(rule.pointee.method)
        let path = unretained(rule.pointee.path)
        let extra = rule.pointee.extra.map { Unmanaged.passUnretained($0) }
        if let extra, extra._withUnsafeGuaranteedRef({ $0.neverMatches }) { return false }
        if let method, !fullMatch(method, request.method) { return false }
        if let path, !fullMatch(path, request.path) { return false }
        guard let extra else { return true }
        return extra._withUnsafeGuaranteedRef { extra in
            if let host = unretained(extra.host), !fullMatch(host, request.authority) { return false }
            for header in extra.headers where !satisfies(header, request) {
                return false
            }
            return true
        }
    }

    @inline(__always)
    private static func unretained(_ regex: Regex?) -> Unmanaged<Regex.Storage>? {
        regex.map { Unmanaged.passUnretained($0.storage) }
    }

    @inline(__always)
    private static func fullMatch(_ regex: Unmanaged<Regex.Storage>, _ subject: UnsafeRawBufferPointer) -> Bool {
        regex._withUnsafeGuaranteedRef { $0.fullMatch(subject) }
    }

    /// Presence: any header with the name. Value: like Envoy, all values of the name joined with
    /// `,` must equal `value`; compared piecewise so nothing is copied.
    private static func satisfies<R: HTTPRequestFields>(_ requirement: HeaderRequirement, _ request: R) -> Bool {
        var occurrences = 0
        var offset = 0
        var equal = true
        requirement.name.withUnsafeBytes { wantedName in
            request.forEachHeader { name, value in
                guard namesEqual(name, wantedName) else { return true }
                occurrences += 1
                guard let expected = requirement.value else { return false }
                expected.withUnsafeBytes { expectedBytes in
                    if occurrences > 1 {
                        guard offset < expectedBytes.count, expectedBytes[offset] == UInt8(ascii: ",") else {
                            equal = false
                            return
                        }
                        offset += 1
                    }
                    guard offset + value.count <= expectedBytes.count else {
                        equal = false
                        return
                    }
                    for index in 0..<value.count where expectedBytes[offset + index] != value[index] {
                        equal = false
                        return
                    }
                    offset += value.count
                }
                return equal
            }
        }
        guard occurrences > 0 else { return false }
        guard let expected = requirement.value else { return true }
        return equal && offset == expected.count
    }

    /// ASCII case-insensitive comparison of a header name with a lower-cased one.
    private static func namesEqual(_ name: UnsafeRawBufferPointer, _ lowered: UnsafeRawBufferPointer) -> Bool {
        guard name.count == lowered.count else { return false }
        for index in 0..<name.count {
            if ASCII.lower(name[index]) != lowered[index] { return false }
        }
        return true
    }
}
