/// Size limits the parser enforces on hostile input. All sizes are in bytes.
///
/// Defaults follow Envoy (what Cilium runs): `max_request_headers_kb` 60 KiB and `max_headers_count`
/// 100, both 431; a request-target over 8 KiB is 414.
public struct Limits: Equatable, Sendable {
    /// Longest head accepted, from the first byte up to and including the final CRLFCRLF (leading empty
    /// lines count). Longer gives 431.
    public var maxHeadBytes: Int
    /// Most field lines in one head. More gives 431.
    public var maxHeaderCount: Int
    /// Longest request-target. Longer gives 414.
    public var maxTargetBytes: Int
    /// Longest chunk-size line, extensions included, CRLF excluded. Longer gives 400.
    public var maxChunkLineBytes: Int
    /// Longest trailer section after the last chunk, final CRLF included. Longer gives 431.
    public var maxTrailerBytes: Int

    /// Creates limits; every argument defaults to the value in `Limits.default`.
    public init(
        maxHeadBytes: Int = 61440,
        maxHeaderCount: Int = 100,
        maxTargetBytes: Int = 8192,
        maxChunkLineBytes: Int = 4096,
        maxTrailerBytes: Int = 16384
    ) {
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxTargetBytes = maxTargetBytes
        self.maxChunkLineBytes = maxChunkLineBytes
        self.maxTrailerBytes = maxTrailerBytes
    }

    /// 60 KiB heads, 100 fields, 8 KiB targets, 4 KiB chunk lines, 16 KiB trailers.
    public static let `default` = Limits()
}
