import Flows
import HTTP2
import Policy
import SluiceIO

/// Phase: events from the client's session (request headers, DATA, trailers, stream ends,
/// credit for response bytes that reached the client), handed on to the upstream stream.
extension HTTP2Connection {
    func clientEvents(_ events: [HTTP2Event]) {
        for event in events {
            if isClosed { return }
            switch event {
            case .headers(let id, let block, .request, let endStream):
                if !draining { onRequest(stream: id, block: block, endStream: endStream) }
            case .headers(let id, let block, _, _):
                // Request trailers end the request body.
                streams[id]?.replay = nil
                if let s = streams[id], let up = s.forwarding { up.session.end(stream: s.upstreamID, trailers: block) }
            case .data(let id, let bytes):
                if let s = streams[id], let up = s.forwarding, up.session.append(stream: s.upstreamID, bytes) {
                    s.toUpstreamQueued += bytes.count
                    s.replay = nil
                } else {
                    session.consume(stream: id, bytes.count)
                }
            case .endStream(let id):
                streams[id]?.requestEnded = true
                if let s = streams[id], let up = s.forwarding { up.session.end(stream: s.upstreamID) }
            case .dataSent(let id, let n):
                // Response bytes reached the client: the upstream may send as much again.
                guard let s = streams[id] else { continue }
                s.toClientQueued -= n
                s.sentToClient &+= n
                if let up = s.upstream { up.session.consume(stream: s.upstreamID, n) }
            case .closed(let id, _):
                guard let s = streams.removeValue(forKey: id) else { continue }
                s.clientOpen = false
                if s.toClientQueued > 0, let up = s.upstream {
                    up.session.consume(stream: s.upstreamID, s.toClientQueued)
                }
                s.toClientQueued = 0
                cancelUpstream(s)
            case .reset, .goaway:
                break
            }
        }
    }

    /// Resets the upstream half of a stream the client is done with.
    func cancelUpstream(_ s: Stream) {
        guard s.upstreamOpen, let up = s.upstream else { return }
        s.upstreamOpen = false
        up.streams[s.upstreamID] = nil
        if !up.isClosed && up.session.isOpen(stream: s.upstreamID) {
            up.session.reset(stream: s.upstreamID, errorCode: Self.cancel)
        }
        returnUnsentRequestCredit(s)
    }

    /// Request bytes that will never leave (the upstream stream is gone): credit back to the client.
    func returnUnsentRequestCredit(_ s: Stream) {
        let credit = s.toUpstreamQueued - s.uncredited
        if credit > 0 { session.consume(stream: s.id, credit) }
        s.toUpstreamQueued = 0
        s.uncredited = 0
    }
}
