/// Counts the frames a peer sends that cost us work without carrying a request forward, and says
/// when they amount to a flood. Pure: the session's callbacks feed it frame facts and a clock
/// reading; the connection handler reads `violation` and answers GOAWAY(ENHANCE_YOUR_CALM).
public struct HTTP2FloodGuard: Sendable, Equatable {
    /// Which defence fired.
    public enum Violation: String, Sendable, Equatable {
        case rapidReset = "rapid reset"
        case resetFlood = "RST_STREAM flood"
        case pingFlood = "PING flood"
        case settingsFlood = "SETTINGS flood"
        case emptyFrames = "empty frame flood"
        case continuationFlood = "CONTINUATION flood"
    }

    public let limits: HTTP2Limits
    public private(set) var violation: Violation?
    /// Streams the peer opened, and of those the ones it reset before our answer ended, plus the
    /// ones we reset or refused because the peer made them malformed (the provoked variant of
    /// CVE-2023-44487, "MadeYouReset": the peer gets us to do the resetting).
    public private(set) var streamsOpened = 0
    public private(set) var prematureResets = 0
    /// Of `prematureResets`, the streams we reset or answered 400/431 as malformed.
    public private(set) var malformedStreams = 0

    private var windowStartNs: UInt64 = 0
    private var pings = 0
    private var settings = 0
    private var resets = 0
    private var consecutiveEmpty = 0
    private var continuations = 0

    public init(limits: HTTP2Limits) { self.limits = limits }

    private mutating func tick(_ nowNs: UInt64) {
        if nowNs &- windowStartNs >= 1_000_000_000 {
            windowStartNs = nowNs
            pings = 0
            settings = 0
            resets = 0
        }
    }

    private mutating func flag(_ v: Violation) {
        if violation == nil { violation = v }
    }

    /// A frame header arrived (nghttp2 `on_begin_frame_callback`): type, payload length, flags.
    public mutating func frameBegins(type: UInt8, length: Int, flags: UInt8, nowNs: UInt64) {
        tick(nowNs)
        let endStream = flags & 0x1 != 0
        switch type {
        case 0x0, 0x1, 0x9:  // DATA, HEADERS, CONTINUATION
            if length == 0 && !endStream {
                consecutiveEmpty += 1
                if consecutiveEmpty > limits.maxConsecutiveEmptyFrames { flag(.emptyFrames) }
            } else if length > 0 {
                consecutiveEmpty = 0
            }
            if type == 0x9 {
                continuations += 1
                if continuations > limits.maxContinuations { flag(.continuationFlood) }
            } else if type == 0x1 {
                continuations = 0
            }
        case 0x3:  // RST_STREAM
            resets += 1
            if resets > limits.maxResetsPerSecond { flag(.resetFlood) }
        case 0x4:  // SETTINGS
            if flags & 0x1 == 0 {
                settings += 1
                if settings > limits.maxSettingsPerSecond { flag(.settingsFlood) }
            }
        case 0x6:  // PING
            if flags & 0x1 == 0 {
                pings += 1
                if pings > limits.maxPingsPerSecond { flag(.pingFlood) }
            }
        default:
            break
        }
    }

    /// The peer opened a stream (a request HEADERS).
    public mutating func streamOpened() {
        streamsOpened += 1
    }

    /// The peer reset one of its streams; `answered` when our side of it had already ended.
    public mutating func streamReset(answered: Bool) {
        guard !answered else { return }
        prematureResets += 1
        checkPrematureResets()
    }

    /// We reset one of the peer's streams as malformed (RST_STREAM PROTOCOL_ERROR and the like,
    /// from nghttp2's checks), or answered it 400/431 before forwarding: it counts toward the
    /// same budget as a reset sent by the peer, so provoking resets is no cheaper than sending them.
    public mutating func streamMalformed() {
        prematureResets += 1
        malformedStreams += 1
        checkPrematureResets()
    }

    /// Envoy's premature-reset rule: past `prematureResetMinStreams` streams, half of them reset
    /// before their answer ended is a flood.
    private mutating func checkPrematureResets() {
        if streamsOpened >= limits.prematureResetMinStreams && prematureResets * 2 >= streamsOpened {
            flag(.rapidReset)
        }
    }
}
