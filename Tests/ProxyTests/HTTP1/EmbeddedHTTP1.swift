import Flows
import Glibc
import Policy
import SluiceIO
import SluiceModel

@testable import Proxy

/// One end of an in-memory connection, as the proxy sees its peer: bytes the peer sent and the
/// proxy has not read yet, bytes the proxy wrote to it, and how it ends.
final class EmbeddedPipe {
    /// Sent by the peer, not yet read by the proxy.
    var inbound: [UInt8] = []
    /// After `inbound` is read: nil while the peer is open, else the errno its stream ends with
    /// (0: EOF).
    var inboundEnd: Int32?
    /// Written by the proxy, not yet drained by the test.
    var outbound: [UInt8] = []
    /// The proxy's next writes fail with this errno (EPIPE, ECONNRESET...).
    var writeFailure: Int32?
    /// Bytes one write takes at most (a full socket buffer makes partial writes).
    var writeLimit = Int.max
    /// What the proxy did to this end.
    var closed = false
    var reset = false
    var writeShutdown = false
}

/// A `ConnectionPeer` over an `EmbeddedPipe` with the socket's readiness rules: a read that
/// empties what the peer sent, or a write cut short, ends readiness until the test's next event.
struct EmbeddedPeer: ConnectionPeer {
    var pipe: EmbeddedPipe?
    let side: PeerSide
    var readable = false
    var writable = false
    var isOpen: Bool { pipe != nil }

    mutating func read(into buffer: IOBuffer) -> IOStep {
        guard let pipe else { return .closed(PeerClose(side: side, errno: EBADF)) }
        let room = buffer.writableCount
        guard room > 0 else { return .blocked }
        if pipe.inbound.isEmpty {
            if let end = pipe.inboundEnd { return .closed(PeerClose(side: side, errno: end)) }
            readable = false
            return .blocked
        }
        let n = min(room, pipe.inbound.count)
        pipe.inbound.withUnsafeBytes { buffer.writePointer.copyMemory(from: $0.baseAddress!, byteCount: n) }
        buffer.writeIndex += n
        pipe.inbound.removeFirst(n)
        if n < room && pipe.inboundEnd == nil { readable = false }
        return .progress(n)
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) -> IOStep {
        write(bytes, UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0))
    }

    mutating func write(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ c: UnsafeRawBufferPointer)
        -> IOStep
    {
        guard let pipe else { return .closed(PeerClose(side: side, errno: EBADF)) }
        if let e = pipe.writeFailure { return .closed(PeerClose(side: side, errno: e)) }
        let total = a.count + b.count + c.count
        var budget = min(total, pipe.writeLimit)
        guard budget > 0 || total == 0 else {
            writable = false
            return .blocked
        }
        for piece in [a, b, c] where budget > 0 {
            let n = min(piece.count, budget)
            pipe.outbound.append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[..<n]))
            budget -= n
        }
        let written = min(total, pipe.writeLimit)
        if written < total { writable = false }
        return .progress(written)
    }
}

/// The in-memory `HTTP1Transport`: the client pipe, one pipe per upstream connection the proxy
/// opens, and a log of lifecycle actions.
final class EmbeddedTransport: HTTP1Transport {
    enum Action: Equatable {
        case connect
        case closeUpstream
        case parkUpstream
        case closeClient(reset: Bool)
        case shutdownClientWrite
        case handOffToHTTP2
    }

    var client: EmbeddedPeer
    var server = EmbeddedPeer(pipe: nil, side: .upstream)
    let clientPipe = EmbeddedPipe()
    /// Every upstream connection opened, in order.
    private(set) var upstreams: [EmbeddedPipe] = []
    private(set) var actions: [Action] = []
    /// How the next connect goes: nil completes it (the test then reports writable), an errno
    /// refuses it at once.
    var connectRefusal: Int32?
    /// The errno a pending connect reports when it completes (0: connected).
    var connectResult: Int32 = 0

    init() {
        client = EmbeddedPeer(pipe: clientPipe, side: .downstream, readable: true, writable: true)
    }

    func start(handler: EventHandler) -> Bool { true }

    func openUpstream(handler: EventHandler) -> UpstreamOpening {
        actions.append(.connect)
        if let refusal = connectRefusal { return .failed(refusal) }
        let pipe = EmbeddedPipe()
        upstreams.append(pipe)
        server = EmbeddedPeer(pipe: pipe, side: .upstream)
        return .pending
    }

    func connectError() -> Int32 { connectResult }

    func parkUpstream() {
        actions.append(.parkUpstream)
        server = EmbeddedPeer(pipe: nil, side: .upstream)
    }

    func closeUpstream() {
        actions.append(.closeUpstream)
        if !pipeBytes.isEmpty { releasePipe() }
        server.pipe?.closed = true
        server = EmbeddedPeer(pipe: nil, side: .upstream)
    }

    func closeClient(reset: Bool) {
        actions.append(.closeClient(reset: reset))
        clientPipe.closed = true
        clientPipe.reset = reset
    }

    func shutdownClientWrite() {
        actions.append(.shutdownClientWrite)
        clientPipe.writeShutdown = true
    }

    func handOffToHTTP2(
        ctx: WorkerContext, addresses: ConnectionAddresses, steer: SteerInfo?,
        initial: UnsafeRawBufferPointer, upgrade: HTTP2Upgrade?
    ) {
        actions.append(.handOffToHTTP2)
    }

    // MARK: splicing (off unless a test turns it on)

    /// Bodies go through the in-memory pipe below, as splice(2) moves them in production.
    var spliceEnabled = false
    /// Bytes in the pipe, moved from one peer's inbound, not yet into the other's outbound.
    private(set) var pipeBytes: [UInt8] = []
    /// Most bytes the pipe holds (a fill moves at most this).
    var pipeCapacity = 64 * 1024
    /// Bytes moved into a peer through the pipe (never through the connection's buffers).
    private(set) var splicedOut = 0
    /// Fills, and what the pipe held when the connection let go of it.
    private(set) var spliceFills = 0
    private(set) var releasedPipeHolding: [Int] = []

    var splices: Bool { spliceEnabled }
    var piped: Int { pipeBytes.count }
    /// The direction of each body a pipe was prepared for, in order.
    private(set) var pipePreparedFor: [BodyDirection] = []
    func preparePipe(for d: BodyDirection) -> Bool {
        if spliceEnabled { pipePreparedFor.append(d) }
        return spliceEnabled
    }

    func spliceIn(from side: PeerSide, max: Int) -> IOStep {
        var peer = side == .upstream ? server : client
        defer { if side == .upstream { server = peer } else { client = peer } }
        guard let pipe = peer.pipe else { return .closed(PeerClose(side: side, errno: EBADF)) }
        let room = min(max, pipeCapacity - pipeBytes.count)
        guard room > 0 else { return .blocked }
        if pipe.inbound.isEmpty {
            if let end = pipe.inboundEnd { return .closed(PeerClose(side: side, errno: end)) }
            if pipeBytes.isEmpty { peer.readable = false }
            return .blocked
        }
        let n = min(room, pipe.inbound.count)
        pipeBytes += pipe.inbound.prefix(n)
        pipe.inbound.removeFirst(n)
        spliceFills += 1
        return .progress(n)
    }

    /// Each drain that moved bytes: how many, and whether it said more body bytes follow.
    private(set) var drains: [(bytes: Int, more: Bool)] = []

    func spliceOut(to side: PeerSide, more: Bool) -> IOStep {
        var peer = side == .upstream ? server : client
        defer { if side == .upstream { server = peer } else { client = peer } }
        guard let pipe = peer.pipe else { return .closed(PeerClose(side: side, errno: EBADF)) }
        if let e = pipe.writeFailure { return .closed(PeerClose(side: side, errno: e)) }
        let n = min(pipeBytes.count, pipe.writeLimit)
        guard n > 0 else {
            peer.writable = false
            return .blocked
        }
        pipe.outbound += pipeBytes.prefix(n)
        pipeBytes.removeFirst(n)
        splicedOut += n
        drains.append((n, more))
        if !pipeBytes.isEmpty { peer.writable = false }
        return .progress(n)
    }

    func releasePipe() {
        releasedPipeHolding.append(pipeBytes.count)
        pipeBytes.removeAll()
    }
}

/// An `HTTP1Connection` driven without sockets or threads, as NIO's EmbeddedChannel drives a
/// pipeline: the test writes the client's and the upstream's bytes, delivers the readiness
/// events, reads what the proxy wrote each way, and reads the flow records. Time is the loop's
/// `ManualClock`; the loop is never run, `advance(by:)` fires due timers on the test's thread.
final class EmbeddedHTTP1 {
    let clock = ManualClock()
    let ctx: WorkerContext
    let sink = CollectingSink()
    let transport = EmbeddedTransport()
    let connection: HTTP1Connection<EmbeddedTransport>

    init(
        snapshot: PolicySnapshot, steer: SteerInfo?, upstreamPort: UInt16 = 8080,
        config: ProxyConfig = ProxyConfig(workers: 1), splice: Bool = false
    ) throws {
        let loop = try EventLoop(clock: clock)
        ctx = WorkerContext(
            loop: loop, config: config, steering: FixedSteering(steer), flows: sink,
            snapshot: snapshot)
        let addresses = ConnectionAddresses(
            clientAddress: UInt32(bigEndian: 0x0A00_0007), clientPort: 40000,
            originalDestinationAddress: UInt32(bigEndian: 0x0A00_0003),
            originalDestinationPort: upstreamPort)
        transport.spliceEnabled = splice
        connection = HTTP1Connection(ctx: ctx, transport: transport, addresses: addresses, steer: steer)
        connection.start()
    }

    var state: HTTP1Connection<EmbeddedTransport>.State { connection.state }
    var actions: [EmbeddedTransport.Action] { transport.actions }
    var flows: [Flow] { sink.flows }
    /// The upstream connection the proxy opened last.
    var upstream: EmbeddedPipe? { transport.upstreams.last }

    // MARK: the client

    /// The client sends `text` (the proxy hears a readable edge).
    func clientSends(_ text: String) {
        transport.clientPipe.inbound.append(contentsOf: Array(text.utf8))
        connection.handleEvents(EventLoop.Events.readable, tag: HTTP1Tag.downstream)
    }

    /// The client's stream ends: EOF (0) or an error.
    func clientCloses(errno: Int32 = 0) {
        transport.clientPipe.inboundEnd = errno
        connection.handleEvents(EventLoop.Events.readable | EventLoop.Events.readHangup, tag: HTTP1Tag.downstream)
    }

    /// What the proxy wrote to the client since the last call.
    func clientReceived() -> String {
        defer { transport.clientPipe.outbound.removeAll() }
        return String(decoding: transport.clientPipe.outbound, as: UTF8.self)
    }

    // MARK: the upstream

    /// The pending upstream connect completes (the proxy hears writable).
    func upstreamConnects() {
        connection.handleEvents(EventLoop.Events.writable, tag: HTTP1Tag.upstream)
    }

    /// The upstream sends `text`.
    func upstreamSends(_ text: String) {
        upstream?.inbound.append(contentsOf: Array(text.utf8))
        connection.handleEvents(EventLoop.Events.readable, tag: HTTP1Tag.upstream)
    }

    /// The upstream's stream ends: EOF (0) or an error.
    func upstreamCloses(errno: Int32 = 0) {
        upstream?.inboundEnd = errno
        connection.handleEvents(EventLoop.Events.readable | EventLoop.Events.readHangup, tag: HTTP1Tag.upstream)
    }

    /// What the proxy wrote to the upstream since the last call.
    func upstreamReceived() -> String {
        guard let upstream else { return "" }
        defer { upstream.outbound.removeAll() }
        return String(decoding: upstream.outbound, as: UTF8.self)
    }

    // MARK: time

    /// Moves the loop's clock and fires the timers that came due.
    func advance(by ns: UInt64) {
        clock.advance(by: ns)
        ctx.loop.runDueTimers()
    }
}
