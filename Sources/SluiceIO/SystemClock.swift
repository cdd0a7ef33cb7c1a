internal import CSluice
import SluiceModel

/// The system's clocks, read through the vDSO: the `Clock` of every real event loop and HTTP/2
/// session. CLOCK_MONOTONIC is the clock of `bpf_ktime_get_ns`, so flow records from the kernel
/// and from the proxy sort together; CLOCK_MONOTONIC_COARSE (`bpf_ktime_get_coarse_ns`, a tick's
/// resolution) is cheaper and serves rate windows and the datapath's conntrack seconds;
/// CLOCK_REALTIME is wall time (HTTP `Date`, the toFQDNs cache's expiries, which outlive a
/// restart). The static readings serve code that has no injected clock.
public struct SystemClock: Clock {
    public enum Source: Sendable {
        case monotonic, coarseMonotonic, realtime
    }

    public let source: Source

    public init(_ source: Source = .monotonic) { self.source = source }

    @inline(__always)
    public func nowNs() -> UInt64 {
        switch source {
        case .monotonic: return CSluice_monotonic_ns()
        case .coarseMonotonic: return CSluice_monotonic_coarse_ns()
        case .realtime: return CSluice_realtime_ns()
        }
    }

    public var movesByItself: Bool { true }

    @inline(__always) public static func monotonicNs() -> UInt64 { CSluice_monotonic_ns() }
    @inline(__always) public static func coarseMonotonicNs() -> UInt64 { CSluice_monotonic_coarse_ns() }
    @inline(__always) public static func realtimeNs() -> UInt64 { CSluice_realtime_ns() }

    /// Writes the IMF-fixdate for `unixSeconds` (29 bytes) into `out`.
    public static func httpDate(unixSeconds: Int64, into out: UnsafeMutablePointer<CChar>) {
        _ = CSluice_http_date(unixSeconds, out)
    }
}
