/// Hubble's flow redaction (`--hubble-redact-enabled` and its options, cilium-agent): what the
/// agent removes from L7 flows before they reach the flow ring, so no reader (and no exported
/// file) ever sees it.
///
/// - `urlQuery` (`--hubble-redact-http-urlquery`): the URL's query and fragment are cut off.
/// - `userInfo` (`--hubble-redact-http-userinfo`): a password in the URL's userinfo becomes
///   `HUBBLE_REDACTED` (the user name stays).
/// - Header values (`l7.http.headers` of request flows, `HTTPHeaderRecord`), as Cilium's
///   `filterHeader`: with neither list every value becomes `HUBBLE_REDACTED`; a name in
///   `headersAllow` (`--hubble-redact-http-headers-allow`) keeps its value, one in `headersDeny`
///   (`--hubble-redact-http-headers-deny`) is redacted; any other name is redacted when an allow
///   list is given and kept when only a deny list is. Names are compared without case.
/// - `kafkaAPIKey` (`--hubble-redact-kafka-apikey`): accepted; Sluice has no Kafka flows.
/// Like Cilium, none of them acts unless `enabled` is set.
public struct FlowRedaction: Sendable, Equatable {
    public var enabled = false
    public var urlQuery = false
    public var userInfo = false
    /// Lowercased header names.
    public var headersAllow: [String] = [] { didSet { allowBytes = headersAllow.map { Array($0.utf8) } } }
    public var headersDeny: [String] = [] { didSet { denyBytes = headersDeny.map { Array($0.utf8) } } }
    /// The lists' UTF-8 bytes, compared on the request path (no String work per header).
    private var allowBytes: [[UInt8]] = []
    private var denyBytes: [[UInt8]] = []
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

    /// The value to show for header `name`: the value itself, or `HUBBLE_REDACTED`.
    public func headerValue(name: String, value: String) -> String {
        var name = name
        let masked = name.withUTF8 { redactsHeader(UnsafeRawBufferPointer($0)) }
        return masked ? Self.redacted.description : value
    }

    /// Whether the value of header `name` (any case) is redacted (Cilium's `filterHeader`).
    /// No allocation: compares the bytes with the lowercased lists.
    public func redactsHeader(_ name: UnsafeRawBufferPointer) -> Bool {
        guard enabled else { return false }
        if allowBytes.isEmpty && denyBytes.isEmpty { return true }
        for allowed in allowBytes where Self.equalsLowercased(name, allowed) { return false }
        for denied in denyBytes where Self.equalsLowercased(name, denied) { return true }
        return !allowBytes.isEmpty
    }

    /// Whether `bytes` spell `lowercased` (ASCII letters of `bytes` compared in lower case).
    @inline(__always)
    public static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ lowercased: [UInt8]) -> Bool {
        guard bytes.count == lowercased.count else { return false }
        for i in 0..<bytes.count {
            let b = bytes[i]
            let folded = b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b + 32 : b
            if folded != lowercased[i] { return false }
        }
        return true
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
