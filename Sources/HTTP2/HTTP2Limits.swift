/// The limits of one HTTP/2 session: what we advertise in SETTINGS, and the flood defences.
/// Defaults follow Envoy's HTTP/2 protocol options where Envoy has one (docs/http2.md lists each
/// with its source).
public struct HTTP2Limits: Sendable, Equatable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise (Envoy's recommended edge value 100; RFC 9113
    /// 6.5.2 asks for no less than 100). nghttp2 refuses streams above it with RST_STREAM.
    public var maxConcurrentStreams: UInt32 = 100
    /// The largest request header list accepted (RFC 9113 6.5.2 counting), Envoy's
    /// `max_request_headers_kb` default 60 KiB; more gets 431 on that stream.
    public var maxHeaderListSize: Int = 60 * 1024
    /// SETTINGS_INITIAL_WINDOW_SIZE: how many unforwarded body bytes one stream may have in flight
    /// toward us (the per-stream buffer bound).
    public var initialStreamWindow: Int32 = 256 * 1024
    /// The connection-level receive window (WINDOW_UPDATE on stream 0 at start).
    public var connectionWindow: Int32 = 1024 * 1024
    /// CONTINUATION frames allowed after one HEADERS (nghttp2 `max_continuations`, CVE-2024-28182).
    public var maxContinuations: Int = 8
    /// nghttp2's own RST_STREAM token bucket (the CVE-2023-44487 fix): burst and refill per second.
    public var resetBurst: UInt64 = 1000
    public var resetRatePerSecond: UInt64 = 33
    /// Rapid reset (CVE-2023-44487), Envoy's premature-reset rule: once `prematureResetMinStreams`
    /// streams were opened, the connection is closed when at least half of them were reset by the
    /// client before their response ended.
    public var prematureResetMinStreams: Int = 500
    /// PING frames (not ACKs) allowed per second; more is a flood. Generous because gRPC
    /// clients probe the bandwidth-delay product with a PING per burst of DATA.
    public var maxPingsPerSecond: Int = 1000
    /// SETTINGS frames (not ACKs) allowed per second; more is a flood.
    public var maxSettingsPerSecond: Int = 100
    /// RST_STREAM frames received per second (any state); more is a flood.
    public var maxResetsPerSecond: Int = 1000
    /// Envoy `max_consecutive_inbound_frames_with_empty_payload`: 1 (DATA, HEADERS or
    /// CONTINUATION with no payload and no END_STREAM, back to back).
    public var maxConsecutiveEmptyFrames: Int = 1
    /// nghttp2 `max_outbound_ack`: queued SETTINGS/PING ACKs before the peer is cut off (Envoy's
    /// `max_outbound_control_frames` is 1000 too).
    public var maxOutboundAcks: Int = 1000
    /// A stream whose body bytes wait for a peer that keeps its flow-control window at 0 (or does
    /// not read at all) for this long is reset on both sides, with an ERROR flow naming that peer
    /// and ETIMEDOUT. 30 s: nginx's `send_timeout` is 60 s, Envoy's `stream_idle_timeout` 5 min
    /// (any activity restarts it); a stall is never activity, so it is shorter here.
    public var streamStallTimeoutNs: UInt64 = 30_000_000_000
    /// The minimum progress of a stream with bytes queued toward a peer: within each
    /// `streamStallTimeoutNs` the peer must take this many bytes (or all that was queued when
    /// the period began), else the stream is reset as stalled. A peer that opens its window by 1
    /// byte every 29 s is reset after 30 s, not kept forever; 16 KiB per 30 s is ~550 B/s, far
    /// below any real client. 1 = any byte is progress.
    public var streamMinProgressBytes: Int = 16384

    public init() {}

    public static let `default` = HTTP2Limits()

    /// A bad command-line value, naming the option.
    public struct OptionError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// The defaults with the settings a user may change from the command line, named like
    /// Envoy's `http2_protocol_options` (nil keeps the default). RFC 9113 6.5.2 and 6.9.2 bound
    /// the windows to 65,535 ... 2^31-1; Envoy bounds the header list to 1 ... 8192 KiB.
    public static func withOptions(
        maxConcurrentStreams: UInt32? = nil, maxRequestHeadersKB: Int? = nil,
        initialStreamWindowSize: Int? = nil,
        initialConnectionWindowSize: Int? = nil, streamStallTimeoutMs: Int? = nil,
        streamMinProgressBytes: Int? = nil
    ) throws(OptionError) -> HTTP2Limits {
        var limits = HTTP2Limits()
        if let n = maxConcurrentStreams {
            guard n >= 1 else { throw OptionError(description: "--http2-max-concurrent-streams must be at least 1") }
            limits.maxConcurrentStreams = n
        }
        if let kb = maxRequestHeadersKB {
            guard (1...8192).contains(kb) else {
                throw OptionError(description: "--http2-max-request-headers-kb must be 1 to 8192 (Envoy's range)")
            }
            limits.maxHeaderListSize = kb * 1024
        }
        let windows = 65_535...Int(Int32.max)
        if let w = initialStreamWindowSize {
            guard windows.contains(w) else {
                throw OptionError(
                    description: "--http2-initial-stream-window-size must be 65535 to 2147483647 (RFC 9113 6.9.2)")
            }
            limits.initialStreamWindow = Int32(w)
        }
        if let w = initialConnectionWindowSize {
            guard windows.contains(w) else {
                throw OptionError(
                    description: "--http2-initial-connection-window-size must be 65535 to 2147483647 (RFC 9113 6.9.2)")
            }
            limits.connectionWindow = Int32(w)
        }
        if let ms = streamStallTimeoutMs {
            guard (1...3_600_000).contains(ms) else {
                throw OptionError(description: "--http2-stream-stall-timeout-ms must be 1 to 3600000")
            }
            limits.streamStallTimeoutNs = UInt64(ms) * 1_000_000
        }
        if let n = streamMinProgressBytes {
            guard (1...Int(Int32.max)).contains(n) else {
                throw OptionError(description: "--http2-stream-min-progress-bytes must be 1 to 2147483647")
            }
            limits.streamMinProgressBytes = n
        }
        return limits
    }
}
