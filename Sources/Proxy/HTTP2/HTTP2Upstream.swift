import Glibc
import HTTP2
import SluiceIO

/// One HTTP/2 connection from the proxy to an original destination, carrying the allowed streams
/// of one downstream `HTTP2Connection` (the upstream speaks the protocol the client spoke,
/// Cilium's Envoy does the same). Owns the socket, the client-side `HTTP2Session` and two
/// buffers; every event it hears goes to its owner, which acts.
///
/// Created, driven and closed on the owner's loop thread. The owner outlives it (it closes its
/// upstreams before it goes), hence `unowned`.
final class HTTP2Upstream: EventHandler, TimerTarget {
    unowned let owner: HTTP2Connection
    let session: HTTP2Session
    private let loop: EventLoop
    /// With `originatingTLS`, the peer holds the upstream's TLS state.
    private var peer = TLSPeer(fd: -1, side: .upstream, ssl: nil)
    private var origination: TLSOrigination?
    private var tlsContexts: TLSContextStore?
    private var registration: EventLoop.Registration = .none
    private let input: IOBuffer
    private let output: IOBuffer
    private var connected = false
    private lazy var timer = LoopTimer(target: self)
    /// Upstream stream ID → the downstream stream it carries (open upstream streams only).
    var streams: [Int32: HTTP2Connection.Stream] = [:]
    /// No new streams go here (GOAWAY received, or the connection failed).
    private(set) var retired = false
    private(set) var isClosed = false

    /// Bytes of frames waiting for the socket before `produce` stops pulling (socket backpressure:
    /// DATA not pulled keeps its flow-control credit unreturned downstream).
    static let outputHighWater = 64 * 1024

    init(owner: HTTP2Connection, loop: EventLoop, limits: HTTP2Limits, bufferBytes: Int) throws(HTTP2Session.Failure) {
        self.owner = owner
        self.loop = loop
        session = try HTTP2Session(role: .client, limits: limits, clock: SystemClock(.coarseMonotonic))
        input = IOBuffer(capacity: bufferBytes, limit: bufferBytes)
        output = IOBuffer(capacity: bufferBytes, limit: 4 * 1024 * 1024)
    }

    /// Starts the non-blocking connect to `address:port` with SO_MARK `mark`
    /// (`SteerInfo.upstreamMark`: the datapath does not steer it back and decides the
    /// destination's policy with the client's identity).
    /// `origination`: TLS toward the upstream (ALPN h2), contexts and sessions from `tlsContexts`.
    func connect(
        address: UInt32, port: UInt16, mark: UInt32, timeoutNs: UInt64, origination: TLSOrigination? = nil,
        tlsContexts: TLSContextStore? = nil
    ) throws(SyscallError) {
        let fd = try Socket.connectTCP(address: address, port: port, mark: mark)
        peer = TLSPeer(fd: fd, side: .upstream, ssl: nil)
        if let origination, let tlsContexts {
            switch origination.makeSSL(fd: fd, store: tlsContexts, now: loop.now, alpn: "h2") {
            case .success(let ssl):
                peer = TLSPeer(fd: fd, side: .upstream, ssl: ssl)
                self.origination = origination
                self.tlsContexts = tlsContexts
            case .failure(let error):
                Socket.close(fd)
                peer.fd = -1
                throw error
            }
        }
        do {
            registration = try loop.register(
                fd: peer.fd,
                events: EventLoop.Events.readable | EventLoop.Events.writable | EventLoop.Events.readHangup
                    | EventLoop.Events.edgeTriggered, handler: self, tag: 0)
        } catch {
            peer.shutdown(reset: true)
            Socket.close(peer.fd)
            peer.fd = -1
            throw error
        }
        loop.schedule(timer, at: loop.now + timeoutNs)
    }

    func handleEvents(_ events: UInt32, tag: UInt32) {
        guard !isClosed else { return }
        if !connected {
            guard events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 else {
                return
            }
            let error = Socket.pendingError(peer.fd)
            if error != 0 {
                fail(PeerClose(side: .upstream, errno: error))
                owner.drive()
                return
            }
            loop.cancel(timer)
            connected = true
            peer.readable = true
            peer.writable = true
        } else {
            if events
                & (EventLoop.Events.readable | EventLoop.Events.hangup | EventLoop.Events.error
                    | EventLoop.Events.readHangup) != 0
            {
                peer.readable = true
            }
            if events & (EventLoop.Events.writable | EventLoop.Events.error) != 0 { peer.writable = true }
        }
        owner.drive()
    }

    /// Connect timeout (Cilium `proxy-connect-timeout`).
    func timerFired(now: UInt64) {
        guard !connected, !isClosed else { return }
        fail(PeerClose(side: .upstream, errno: ETIMEDOUT))
        owner.drive()
    }

    /// Reads, feeds the session, produces and writes as far as possible. Returns whether anything
    /// moved. Events go to the owner as they are recorded.
    func pump() -> Bool {
        guard !isClosed else { return false }
        var progress = false
        if connected && peer.readable {
            if input.writableCount == 0 { input.clear() }
            switch peer.read(into: input) {
            case .progress:
                progress = true
                do {
                    try session.receive(input.readable)
                } catch {
                    input.clear()
                    owner.upstreamEvents(self, session.takeEvents())
                    fail(PeerClose(side: .upstream, errno: EPROTO))
                    return true
                }
                input.clear()
                owner.upstreamEvents(self, session.takeEvents())
            case .blocked:
                break
            case .closed(let failure):
                fail(failure)
                return true
            }
        }
        progress = flush() || progress
        if !isClosed && connected && !session.isAlive && output.isEmpty {
            // The session ended (GOAWAY both ways): streams still waiting lost their upstream.
            fail(PeerClose(side: .upstream, errno: 0))
            return true
        }
        return progress
    }

    /// Pulls frames out of the session while the socket keeps up, then writes them.
    private func flush() -> Bool {
        guard let progress = HTTP2Output.produce(session, into: output, highWater: HTTP2Upstream.outputHighWater) else {
            fail(PeerClose(side: .upstream, errno: EPROTO))
            return true
        }
        let events = session.takeEvents()
        if !events.isEmpty { owner.upstreamEvents(self, events) }
        guard connected, peer.writable, !output.isEmpty else { return progress }
        let step = HTTP2Output.write(output, to: &peer)
        if case .closed(let failure) = step {
            fail(failure)
            return true
        }
        return HTTP2Output.wrote(step) || progress
    }

    /// No more streams go on this connection (GOAWAY from the server).
    func retire() { retired = true }

    /// The connection broke or ended (`failure`: how, for the streams' flow records): close it
    /// and let the owner answer its open streams.
    private func fail(_ failure: PeerClose) {
        guard !isClosed else { return }
        let orphans = streams
        close()
        owner.upstreamClosed(self, orphans: orphans, failure: failure)
    }

    /// Closes the socket and the session. Idempotent.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        retired = true
        // Streams and this connection refer to each other while a stream is open: break it.
        streams.removeAll()
        loop.cancel(timer)
        if peer.isOpen {
            loop.deregister(fd: peer.fd, registration: registration)
            if let ssl = peer.ssl, let tlsContexts { origination?.saveSession(of: ssl, store: tlsContexts) }
            peer.shutdown(reset: false)
            Socket.close(peer.fd)
            peer.fd = -1
        }
        session.close()
    }
}
