import COpenSSL
import Glibc
import SluiceIO

/// What `TLSALPNProbe` and `H2CProbe` share: a connection to the original destination,
/// registered edge-triggered on the worker's loop with a deadline, that learns what the upstream
/// speaks before the proxy answers a client's ClientHello offering h2 (`TLSAcceptor`).
/// `finished` hears once (true: h2, false: HTTP/1.1 only, nil: no answer) and never after
/// `cancel`. The probe's own connection is not reused as the request's upstream connection
/// (docs/architecture.md "TLS interception": a `TLSALPNProbe` leaves its session for the real
/// connection to resume). Loop-thread only.
class UpstreamALPNProbe: EventHandler, TimerTarget {
    let loop: EventLoop
    let store: TLSContextStore
    private var registration: EventLoop.Registration = .none
    private(set) lazy var timer = LoopTimer(target: self)
    /// The non-blocking connect has completed.
    private(set) var connected = false
    private var finished: ((Bool?) -> Void)?
    /// Whether anyone still waits for the answer.
    var waiting: Bool { finished != nil }

    init(loop: EventLoop, store: TLSContextStore, finished: @escaping (Bool?) -> Void) {
        self.loop = loop
        self.store = store
        self.finished = finished
    }

    /// Registers the connecting socket `fd` and arms the deadline `timeoutNs` from now; false
    /// when the loop refuses it (the caller closes `fd`).
    func register(fd: Int32, timeoutNs: UInt64) -> Bool {
        do {
            registration = try loop.register(
                fd: fd,
                events: EventLoop.Events.readable | EventLoop.Events.writable | EventLoop.Events.readHangup
                    | EventLoop.Events.edgeTriggered, handler: self, tag: 0)
        } catch {
            return false
        }
        loop.schedule(timer, at: loop.now + timeoutNs)
        return true
    }

    /// Whether the connect of `fd` has completed once `events` arrived: true (now or before),
    /// false (still pending), nil (it failed).
    func connect(_ events: UInt32, fd: Int32) -> Bool? {
        if connected { return true }
        guard events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 else {
            return false
        }
        if Socket.pendingError(fd) != 0 { return nil }
        connected = true
        return true
    }

    /// Tells the answer, once.
    func tell(_ learned: Bool?) {
        let finished = self.finished
        self.finished = nil
        finished?(learned)
    }

    /// Takes `fd` off the loop (and the deadline); the caller closes it.
    func deregister(fd: Int32) {
        loop.cancel(timer)
        loop.deregister(fd: fd, registration: registration)
    }

    /// Stops the probe without telling anyone (its owner went away).
    func cancel() { finished = nil }

    func handleEvents(_ events: UInt32, tag: UInt32) {}
    func timerFired(now: UInt64) {}
}

/// Learns whether an upstream speaks h2 before the proxy answers a client that offers h2 on an
/// intercepted port with `originatingTLS` (docs/architecture.md "TLS interception", "ALPN"):
/// a TLS connection to the original destination offering `h2` and `http/1.1`, as the client
/// did, with the origination's CA, SNI and resumable session. What the upstream selects is kept
/// in the worker's `TLSContextStore` (`learnALPN`, for `TLSContextStore.alpnTTLNs`) and told at
/// once; the probe then waits (at most `ticketWaitNs`) for the session ticket, keeps the session
/// for the real upstream connection that follows (which then resumes it) and closes with
/// close_notify. `finished` hears once: true (h2 selected), false (http/1.1 or no
/// ALPN), nil (no answer: connect or handshake failed, or timed out; nothing is learned).
/// Non-blocking on the worker's loop. Loop-thread only.
final class TLSALPNProbe: UpstreamALPNProbe {
    private let origination: TLSOrigination
    private var peer = TLSPeer(fd: -1, side: .upstream, ssl: nil)

    /// The wire form of the offer: h2, then http/1.1.
    private static let offer: [UInt8] = [2] + Array("h2".utf8) + [8] + Array("http/1.1".utf8)

    private init(
        loop: EventLoop, store: TLSContextStore, origination: TLSOrigination, finished: @escaping (Bool?) -> Void
    ) {
        self.origination = origination
        super.init(loop: loop, store: store, finished: finished)
    }

    /// Starts a probe of `upstream` bounded by `timeoutNs`, with the origination's CA, SNI and
    /// session; nil when none could start (the caller goes on without knowing, and nothing calls
    /// `finished`).
    static func start(
        loop: EventLoop, store: TLSContextStore, origination: TLSOrigination, upstream: UpstreamTarget,
        timeoutNs: UInt64, finished: @escaping (Bool?) -> Void
    ) -> TLSALPNProbe? {
        guard let fd = try? upstream.connect() else { return nil }
        guard case .success(let ssl) = origination.makeSSL(fd: fd, store: store, now: loop.now, offer: offer) else {
            Socket.close(fd)
            return nil
        }
        let probe = TLSALPNProbe(loop: loop, store: store, origination: origination, finished: finished)
        probe.peer = TLSPeer(fd: fd, side: .upstream, ssl: ssl)
        guard probe.register(fd: fd, timeoutNs: timeoutNs) else {
            probe.peer.shutdown(reset: true)
            Socket.close(fd)
            return nil
        }
        return probe
    }

    override func handleEvents(_ events: UInt32, tag: UInt32) {
        guard peer.fd >= 0 else { return }
        switch connect(events, fd: peer.fd) {
        case true?: break
        case false?: return
        case nil: return end(learned: nil)
        }
        if events
            & (EventLoop.Events.readable | EventLoop.Events.hangup | EventLoop.Events.error
                | EventLoop.Events.readHangup) != 0
        {
            peer.readable = true
        }
        if events & (EventLoop.Events.writable | EventLoop.Events.error) != 0 { peer.writable = true }
        guard peer.readable || peer.writable else { return }
        if handshakeDone { return awaitTicket() }
        switch peer.handshake() {
        case .progress:
            guard let ssl = peer.ssl else { return end(learned: nil) }
            var data: UnsafePointer<UInt8>?
            var length: UInt32 = 0
            SSL_get0_alpn_selected(ssl, &data, &length)
            let h2 = length == 2 && data?[0] == UInt8(ascii: "h") && data?[1] == UInt8(ascii: "2")
            store.learnALPN(h2: h2, for: origination.sessionKey, now: loop.now)
            // The client goes on now; the probe stays until the upstream's session ticket
            // arrives (TLS 1.3 sends it after the handshake), so the real connection resumes.
            handshakeDone = true
            tell(h2)
            loop.schedule(timer, at: loop.now + Self.ticketWaitNs)
            awaitTicket()
        case .blocked:
            return
        case .closed:
            end(learned: nil)
        }
    }

    /// How long a probe whose handshake is done waits for a resumable session.
    static let ticketWaitNs: UInt64 = 1_000_000_000
    private var handshakeDone = false

    /// Reads what the upstream sends after the handshake (session tickets; any data is
    /// dropped) until the session can be resumed, then keeps it and closes.
    private func awaitTicket() {
        guard let ssl = peer.ssl else { return close() }
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var step = IOStep.progress(0)
        while case .progress = step {
            if let session = SSL_get_session(ssl), SSL_SESSION_is_resumable(session) == 1 { break }
            step = withUnsafeMutableBytes(of: &scratch) { bytes -> IOStep in
                let n = SSL_read(ssl, bytes.baseAddress, Int32(bytes.count))
                if n > 0 { return .progress(Int(n)) }
                return SSL_get_error(ssl, n) == SSL_ERROR_WANT_READ
                    ? .blocked : .closed(PeerClose(side: .upstream, errno: 0))
            }
        }
        ERR_clear_error()
        if case .blocked = step, !(SSL_get_session(ssl).map { SSL_SESSION_is_resumable($0) == 1 } ?? false) {
            peer.readable = false
            return
        }
        origination.saveSession(of: ssl, store: store)
        close()
    }

    override func timerFired(now: UInt64) {
        if handshakeDone {
            if let ssl = peer.ssl { origination.saveSession(of: ssl, store: store) }
            return close()
        }
        guard waiting else { return }
        end(learned: nil)
    }

    /// Stops the probe without telling anyone (its owner went away); a probe that only waits
    /// for its session ticket goes on.
    override func cancel() {
        super.cancel()
        if !handshakeDone { close() }
    }

    private func end(learned: Bool?) {
        close()
        tell(learned)
    }

    private func close() {
        guard peer.fd >= 0 else { return }
        // A finished handshake ends with close_notify; a failed one with a reset.
        let orderly = peer.ssl.map { SSL_is_init_finished($0) == 1 } ?? false
        peer.shutdown(reset: !orderly)
        deregister(fd: peer.fd)
        if orderly { Socket.close(peer.fd) } else { Socket.closeWithReset(peer.fd) }
        peer.fd = -1
    }
}
