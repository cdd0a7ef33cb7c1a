import HTTP1
import SluiceIO

/// Which body a relay step moves: the request's, from the client to the upstream, or the
/// response's, back.
enum BodyDirection {
    case request
    case response

    var source: PeerSide { self == .request ? .downstream : .upstream }
    var destination: PeerSide { self == .request ? .upstream : .downstream }
}

/// Phase: relay a body. The steps both directions share once no body byte is buffered: the
/// next bytes the framing allows move socket to socket through the pipe when the transport
/// splices (docs/architecture.md "Bodies by splice"), else they are read into the source's
/// buffer; and what a failed source or destination means for the exchange.
extension HTTP1Connection {
    /// No byte of the body is buffered: up to `spliceable` bytes go through the pipe when
    /// nothing must be edited in them (`editPending`) and a pipe can be had, else a read into
    /// the source's buffer.
    func readBody(_ d: BodyDirection, spliceable: Int, editPending: Bool) -> Bool {
        if spliceable > 0 && !editPending && io.splices && io.preparePipe(for: d) {
            return spliceBody(d, max: spliceable)
        }
        let read: Bool
        switch d {
        case .request:
            guard client.readable else { return false }
            _ = down.reserveSpace()
            read = readDownstream()
        case .response:
            guard server.readable else { return false }
            _ = up.reserveSpace()
            read = readUpstream()
        }
        guard read else { return false }
        bodyActivityNs = ctx.loop.now
        return true
    }

    /// Up to `max` body bytes from the source's socket into the pipe, which is empty.
    private func spliceBody(_ d: BodyDirection, max: Int) -> Bool {
        guard d == .request ? client.readable : server.readable else { return false }
        switch io.spliceIn(from: d.source, max: max) {
        case .progress(let r):
            if d == .request { requestFraming.spliced(r) } else { responseFraming.spliced(r) }
            bodyActivityNs = ctx.loop.now
            return true
        case .blocked:
            return false
        case .closed(let failure):
            return sourceFailed(d, failure)
        }
    }

    /// The piped body bytes into the destination's socket (they go out before anything else:
    /// the buffer holds none of them). A request body's drain (256 KiB pipe: several TSO packets)
    /// tells the kernel when body data is owed after it (`MessageFraming.dataFollowsPipe`), so it
    /// sends full segments rather than one short segment per drain; a response body's (64 KiB
    /// pipe: one packet) never does: the partial segment it would hold back goes out by a TCP
    /// pacing timer, not by the next drain (docs/architecture.md "Bodies by splice", "Segments").
    func drainPipe(_ d: BodyDirection) -> Bool {
        guard d == .request ? server.writable : client.writable else { return false }
        let more = d == .request && requestFraming.dataFollowsPipe
        switch io.spliceOut(to: d.destination, more: more) {
        case .progress:
            bodyActivityNs = ctx.loop.now
            return true
        case .blocked:
            return false
        case .closed(let failure):
            return destinationFailed(d, failure)
        }
    }

    /// The source's stream ended inside the body. The client's abandons the request (its flow
    /// record says so); the upstream's EOF ends an until-close body, else fails the response
    /// (`upstreamEnded`). Whether the connection may step on.
    func sourceFailed(_ d: BodyDirection, _ failure: PeerClose) -> Bool {
        switch d {
        case .request:
            abort(failure, code: 0)
            return false
        case .response:
            upstreamEnded(failure)
            return true
        }
    }

    /// A write toward the destination failed. The upstream's is answered 503 while no response
    /// began (`upstreamFailed`); the client's ends the exchange with the failure in its record.
    /// Whether the connection may step on.
    func destinationFailed(_ d: BodyDirection, _ failure: PeerClose) -> Bool {
        switch d {
        case .request:
            upstreamFailed(failure)
            return true
        case .response:
            closeUpstream()
            abort(failure, code: response.status)
            return false
        }
    }
}
