/// Hubble's flow redaction (`--hubble-redact-enabled` and its options, cilium-agent): what the
/// agent removes from L7 flows before they reach the flow ring, so no reader (and no exported
/// file) ever sees it.
///
/// - `urlQuery` (`--hubble-redact-http-urlquery`): the URL's query and fragment are cut off.
/// - `userInfo` (`--hubble-redact-http-userinfo`): a password in the URL's userinfo becomes
///   `HUBBLE_REDACTED` (the user name stays).
/// - `headersAllow` / `headersDeny` (`--hubble-redact-http-headers-allow/deny`): header values
///   outside the allow list, or in the deny list, become `HUBBLE_REDACTED` (names compared without
///   case). Sluice's flow records carry no HTTP headers yet, so these lists have nothing to act on.
/// - `kafkaAPIKey` (`--hubble-redact-kafka-apikey`): accepted; Sluice has no Kafka flows.
/// Like Cilium, none of them acts unless `enabled` is set.
public struct FlowRedaction: Sendable, Equatable {
    public var enabled = false
    public var urlQuery = false
    public var userInfo = false
    /// Lowercased header names.
    public var headersAllow: [String] = []
    public var headersDeny: [String] = []
    public var kafkaAPIKey = false

    /// What replaces a redacted value.
    public static let redacted: StaticString = "HUBBLE_REDACTED"

    public init() {}

    /// The agent's redaction, set once at start before any worker writes a flow (then only read).
    nonisolated(unsafe) public static var current = FlowRedaction()

    /// Whether URL queries are cut.
    public var cutsQuery: Bool { enabled && urlQuery }
    /// Whether userinfo passwords are replaced.
    public var masksPassword: Bool { enabled && userInfo }

    /// The value to show for header `name` (lowercased): the value itself, or `HUBBLE_REDACTED`.
    public func headerValue(name: String, value: String) -> String {
        guard enabled else { return value }
        if !headersAllow.isEmpty && !headersAllow.contains(name) { return Self.redacted.description }
        if headersDeny.contains(name) { return Self.redacted.description }
        return value
    }

    /// The part of a request target or path to record: all of it, or up to its `?` or `#` when
    /// queries are redacted. No copy.
    public func recordedPath(_ path: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard cutsQuery, let cut = path.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) else {
            return path
        }
        return UnsafeRawBufferPointer(rebasing: path[..<cut])
    }

    /// An authority's parts to record: (before, masked, after), where `masked` tells whether
    /// `HUBBLE_REDACTED` goes between them: `user:secret@host` gives (`user:`, true, `@host`).
    public func recordedAuthority(_ authority: UnsafeRawBufferPointer)
        -> (head: UnsafeRawBufferPointer, masked: Bool, tail: UnsafeRawBufferPointer)
    {
        let whole = (authority, false, UnsafeRawBufferPointer(start: nil, count: 0))
        guard masksPassword, let at = authority.lastIndex(of: UInt8(ascii: "@")),
            let colon = authority[..<at].firstIndex(of: UInt8(ascii: ":"))
        else { return whole }
        return (
            UnsafeRawBufferPointer(rebasing: authority[...colon]), true,
            UnsafeRawBufferPointer(rebasing: authority[at...])
        )
    }
}
