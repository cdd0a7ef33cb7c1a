import Glibc
import HTTP2
import SluiceIO

/// One HTTP/2 connection from the proxy to an original destination, carrying the allowed streams
/// of one downstream `HTTP2Connection` (the upstream speaks the protocol the client spoke,
/// Cilium's Envoy does the same). Owns the link (the socket, from the owner's `HTTP2Transport`),
/// the client-side `HTTP2Session` and two buffers; every event it hears goes to its owner, which
/// acts.
///
/// Created, driven and closed on the owner's loop thread. The owner outlives it (it closes its
/// upstreams before it goes), hence `unowned`.
final class HTTP2Upstream: EventHandler, TimerTarget {
    unowned let owner: HTTP2Connection
    let session: HTTP2Session
    private let loop: EventLoop
    /// The connection (nil until `connect`); with `originatingTLS` it holds the TLS state.
    private var peer: HTTP2Link?
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

    /// Starts the non-blocking connect through `transport` (the original destination, with the
    /// client's SO_MARK, TLS with `originatingTLS`), with a connect timeout.
    func connect(through transport: HTTP2Transport, timeoutNs: UInt64) throws(SyscallError) {
        peer = try transport.openUpstream(handler: self)
        loop.schedule(timer, at: loop.now + timeoutNs)
    }

    func handleEvents(_ events: UInt32, tag: UInt32) {
        guard !isClosed, let peer else { return }
        if !connected {
            guard events & (EventLoop.Events.writable | EventLoop.Events.error | EventLoop.Events.hangup) != 0 else {
                return
            }
            let error = peer.connectError()
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
            if HTTP2Output.readable(events) { peer.readable = true }
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
        guard !isClosed, let peer else { return false }
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
        guard connected, let peer, peer.writable, !output.isEmpty else { return progress }
        let step = HTTP2Output.write(output, to: peer)
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
        peer?.close(reset: false)
        session.close()
    }
}
