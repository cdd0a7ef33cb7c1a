import HTTP1
import HTTP2

/// Limits and timeouts of the proxy. Defaults follow Cilium's Envoy settings where Cilium has one
/// (docs/proxy.md lists each).
public struct ProxyConfig: Sendable {
    /// Worker threads (event loops); default: one per core.
    public var workers: Int
    /// First CPU to pin workers to (worker i on cpu (pinFirstCPU + i) % cores); nil = no pinning.
    public var pinFirstCPU: Int?
    /// Address and port of the transparent HTTP listener (the sockmap points sk_lookup at it).
    public var httpListenAddress: UInt32
    public var httpListenPort: UInt16
    /// Initial per-connection buffer size for each direction.
    public var bufferBytes: Int
    /// HTTP/1 parser limits (head size, header count, target length...).
    public var httpLimits: Limits
    /// Upstream connect timeout (Cilium `proxy-connect-timeout`: 2 s), then 503.
    public var connectTimeoutNs: UInt64
    /// Time allowed for the response head after the request was forwarded (Envoy's route
    /// `timeout` default, 15 s; Cilium sets 3600 s), then 504 (docs/proxy.md); 0 = none.
    public var requestTimeoutNs: UInt64
    /// HTTP/1 client keep-alive idle: a connection with no request under way and nothing received
    /// is closed after it (Envoy's downstream `idle_timeout`, 1 h); 0 = none.
    public var idleTimeoutNs: UInt64
    /// HTTP/1: the whole request head must arrive within this time from its first byte (from the
    /// accept on a new connection), else 408 and close, or close when nothing arrived (Envoy
    /// `request_headers_timeout`, off by default there; Sluice: 10 s).
    public var requestHeadTimeoutNs: UInt64 = 10_000_000_000
    /// HTTP/1: a tunnel after `101 Switching Protocols` with no byte either way for this long is
    /// closed (Envoy `stream_idle_timeout`, 300 s in Cilium); 0 = none.
    public var tunnelIdleTimeoutNs: UInt64 = 300_000_000_000
    /// HTTP/1: while a request body is forwarded or a response body relayed, no byte moving for
    /// this long ends the exchange: a client that stops sending its body gets 408, an upstream
    /// that stops taking it 504; a response whose upstream goes silent or whose client stops
    /// reading is cut off (close). Each writes an ERROR flow naming the stuck side and ETIMEDOUT
    /// (Envoy `stream_idle_timeout`, 300 s; nginx `client_body_timeout`/`proxy_read_timeout`/
    /// `send_timeout` are 60 s); 0 = none.
    public var bodyIdleTimeoutNs: UInt64 = 300_000_000_000
    /// Body of the 403 answer (Cilium `--http-403-msg`); CRLF is appended when missing.
    public var accessDeniedMessage: String
    /// Write a flow record for every decision (off only to measure what flows cost).
    public var recordFlows: Bool
    /// Header names with `_` (Envoy `headers_with_underscores_action`; Sluice's default rejects).
    public var headersWithUnderscores: HeadersWithUnderscoresAction = .rejectRequest
    /// HTTP/2 SETTINGS and flood limits (Envoy's defaults; docs/http2.md).
    public var http2Limits: HTTP2Limits = .default
    /// Most open client connections (HTTP/1 and HTTP/2) over all workers, split evenly between
    /// them; a worker at its share stops accepting until one closes (`AcceptGate`). The agent
    /// sets it from the open-file limit unless `--max-connections` is given
    /// (`ProxyConfig.connectionCap(openFileLimit:)`).
    public var maxConnections = 65536
    /// Where `terminatingTLS`/`originatingTLS` secrets are read: `<dir>/<namespace>/<name>/<item>`.
    public var tlsSecretsDirectory = "/run/sluice/secrets"
    /// HTTP/1 over plain TCP: once a head is decided, its body moves socket to socket through a
    /// pipe with splice(2) where the framing allows (docs/architecture.md "Bodies by splice");
    /// false: every body byte through the connection's buffers (the path TLS and HTTP/2 take).
    public var spliceBodies = true
    /// Size of the splice pipes of response bodies (F_SETPIPE_SZ; the kernel's default when
    /// refused): the most one splice moves, and what a stalled client can leave buffered beyond
    /// the socket buffers. 64 KiB (16 page slots, HAProxy's size): a drain then fits one TSO
    /// packet, which a paced socket sends at once; a larger drain leaves the rest to TCP pacing
    /// timers (docs/performance.md "s20-bulk").
    public var splicePipeBytes = 64 * 1024
    /// Size of the splice pipes of request bodies (uploads): 256 KiB, fewer splices per byte (a
    /// 64 KiB pipe without SPLICE_F_MORE made 64 MiB uploads 1.18x dearer, docs/performance.md
    /// "s20-bulk").
    public var spliceRequestPipeBytes = 256 * 1024
    /// Pipes per worker at most (two descriptors each); beyond them bodies take the buffers.
    public var splicePipesPerWorker = 64
    /// Sets SSL_OP_ENABLE_KTLS on intercepting contexts: OpenSSL hands the record layer to the
    /// kernel where the kernel's tls module and the negotiated cipher allow it.
    public var tlsKernelOffload = false

    public init(
        workers: Int = ProxyConfig.cores, pinFirstCPU: Int? = nil,
        httpListenAddress: UInt32 = 0x0100_007F, httpListenPort: UInt16 = 15001,
        bufferBytes: Int = 16384, httpLimits: Limits = .default,
        connectTimeoutNs: UInt64 = 2_000_000_000, requestTimeoutNs: UInt64 = 15_000_000_000,
        idleTimeoutNs: UInt64 = 3_600_000_000_000, accessDeniedMessage: String = "Access denied",
        recordFlows: Bool = true
    ) {
        self.workers = workers
        self.pinFirstCPU = pinFirstCPU
        self.httpListenAddress = httpListenAddress
        self.httpListenPort = httpListenPort
        self.bufferBytes = bufferBytes
        self.httpLimits = httpLimits
        self.connectTimeoutNs = connectTimeoutNs
        self.requestTimeoutNs = requestTimeoutNs
        self.idleTimeoutNs = idleTimeoutNs
        self.accessDeniedMessage = accessDeniedMessage
        self.recordFlows = recordFlows
    }

    /// The default connection cap for an open-file limit: each proxied connection holds two
    /// descriptors (client and upstream), and a quarter of the limit (at most 1024) stays for
    /// listeners, the datapath, DNS sockets and the control socket; at most 1,000,000.
    public static func connectionCap(openFileLimit: UInt64) -> Int {
        let limit = Int(clamping: openFileLimit)
        let reserve = min(1024, limit / 4)
        return min(1_000_000, max(16, (limit - reserve) / 2))
    }

    /// Online CPUs.
    public static var cores: Int {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return n > 0 ? n : 1
    }
}

#if canImport(Glibc)
    import Glibc
#endif
