import Glibc
import SluiceIO

/// Learns whether a plain upstream speaks h2c with prior knowledge before the proxy answers a
/// client that offers h2 on a port with `terminatingTLS` and no `originatingTLS`
/// (docs/architecture.md "TLS interception", "ALPN"): a TCP connection to the original
/// destination that sends the HTTP/2 connection preface and an empty SETTINGS frame, then looks
/// at the first 9 bytes back. A SETTINGS frame header (type 4, no ACK, stream 0) is h2c; any
/// other bytes, or a close before 9 bytes, or silence until the timeout, is HTTP/1.1 only.
/// What is learned is kept in the worker's `TLSContextStore` (`learnALPN`, key `key(address:port:)`,
/// for `TLSContextStore.alpnTTLNs`). `finished` hears once: true (h2c), false (HTTP/1.1 only),
/// nil (no answer: the connect failed or did not complete in time; nothing is learned). The probe
/// connection is closed after the answer (the real upstream connection is opened as usual).
/// Non-blocking on the worker's loop. Loop-thread only.
final class H2CProbe: UpstreamALPNProbe {
    private let key: String
    private var fd: Int32
    private var sent = 0
    /// The first bytes the upstream sent (at most a frame header).
    private var header: (UInt64, UInt8) = (0, 0)
    private var received = 0

    /// The connection preface (RFC 9113 3.4) and an empty SETTINGS frame.
    private static let greeting: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]
    /// How long the upstream has to answer the greeting (silence: HTTP/1.1 only).
    static let timeoutNs: UInt64 = 1_000_000_000

    /// The store's key for what upstream `address:port` (network order address) speaks.
    static func key(address: UInt32, port: UInt16) -> String {
        "h2c/" + String(address) + ":" + String(port)
    }

    private init(loop: EventLoop, store: TLSContextStore, key: String, fd: Int32, finished: @escaping (Bool?) -> Void) {
        self.key = key
        self.fd = fd
        super.init(loop: loop, store: store, finished: finished)
    }

    /// Starts a probe of `upstream` bounded by `timeoutNs`; nil when none could start (the caller
    /// goes on without knowing, and nothing calls `finished`).
    static func start(
        loop: EventLoop, store: TLSContextStore, upstream: UpstreamTarget, timeoutNs: UInt64 = timeoutNs,
        finished: @escaping (Bool?) -> Void
    ) -> H2CProbe? {
        guard let fd = try? upstream.connect() else { return nil }
        let probe = H2CProbe(
            loop: loop, store: store, key: key(address: upstream.address, port: upstream.port), fd: fd,
            finished: finished)
        guard probe.register(fd: fd, timeoutNs: timeoutNs) else {
            Socket.closeWithReset(fd)
            return nil
        }
        return probe
    }

    override func handleEvents(_ events: UInt32, tag: UInt32) {
        guard fd >= 0 else { return }
        switch connect(events, fd: fd) {
        case true?: break
        case false?: return
        case nil: return end(learned: nil)
        }
        if sent < Self.greeting.count {
            let n = Self.greeting.withUnsafeBytes { bytes in
                send(fd, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                sent += n
            } else if n < 0 && errno != EAGAIN && errno != EINTR {
                // The upstream closed before taking the greeting: no HTTP/2 peer.
                return end(learned: false)
            }
        }
        readAnswer()
    }

    /// Reads up to a frame header's 9 bytes and decides as soon as they say enough.
    private func readAnswer() {
        while received < 9 {
            let n = withUnsafeMutableBytes(of: &header) { bytes in
                recv(fd, bytes.baseAddress! + received, 9 - received, 0)
            }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return }
                return end(learned: false)
            }
            if n == 0 { return end(learned: false) }
            received += n
        }
        let h2c = withUnsafeBytes(of: &header) { b in
            b[3] == 4 && b[4] & 1 == 0 && b[5] & 0x7f == 0 && b[6] == 0 && b[7] == 0 && b[8] == 0
        }
        end(learned: h2c)
    }

    override func timerFired(now: UInt64) {
        // Connected but silent: an HTTP/1.1 server waiting for more of its "request".
        end(learned: connected ? false : nil)
    }

    /// Stops the probe without telling anyone (its owner went away).
    override func cancel() {
        super.cancel()
        close()
    }

    private func end(learned: Bool?) {
        if let learned { store.learnALPN(h2: learned, for: key, now: loop.now) }
        close()
        tell(learned)
    }

    private func close() {
        guard fd >= 0 else { return }
        deregister(fd: fd)
        Socket.closeWithReset(fd)
        fd = -1
    }
}
