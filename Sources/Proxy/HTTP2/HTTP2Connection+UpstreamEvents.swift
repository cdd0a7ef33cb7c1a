import Flows
import HTTP2
import Policy
import SluiceIO

/// Phase: relay what an upstream connection's session reports back to the client's streams,
/// and answer the streams an upstream stream or connection left without a response.
extension HTTP2Connection {
    func upstreamEvents(_ up: HTTP2Upstream, _ events: [HTTP2Event]) {
        for event in events {
            if isClosed { return }
            switch event {
            case .headers(let uid, let block, let category, let endStream):
                guard let s = stream(up, uid) else { continue }
                if !s.responseStarted && category != .request {
                    let status = block.text(of: ":status").flatMap { Int($0) } ?? 502
                    if status < 200 { continue }  // 1xx: nothing to relay (nghttp2 handles 100-continue)
                    s.responseStarted = true
                    s.status = UInt16(clamping: status)
                    s.record.response(code: s.status)
                    do {
                        try session.submitResponse(stream: s.id, block, hasBody: !endStream)
                    } catch {
                        up.session.reset(stream: uid, errorCode: Self.cancel)
                    }
                } else {
                    session.end(stream: s.id, trailers: block)
                }
            case .data(let uid, let bytes):
                if let s = stream(up, uid), s.clientOpen, session.append(stream: s.id, bytes) {
                    s.toClientQueued += bytes.count
                } else {
                    up.session.consume(stream: uid, bytes.count)
                }
            case .endStream(let uid):
                if let s = stream(up, uid), s.clientOpen { session.end(stream: s.id) }
            case .dataSent(let uid, let n):
                // Request bytes reached the upstream: the client may send as much again.
                guard let s = up.streams[uid] else { continue }
                let free = min(n, s.uncredited)
                s.uncredited -= free
                s.toUpstreamQueued -= n
                s.sentToUpstream &+= n
                if n > free { session.consume(stream: s.id, n - free) }
            case .closed(let uid, let code):
                guard let s = up.streams.removeValue(forKey: uid) else { continue }
                s.upstreamOpen = false
                returnUnsentRequestCredit(s)
                if s.clientOpen { upstreamStreamEnded(s, errorCode: code) }
            case .goaway:
                up.retire()
                if upstream === up { upstream = nil }
            case .reset:
                break
            }
        }
    }

    func stream(_ up: HTTP2Upstream, _ uid: Int32) -> Stream? {
        up.streams[uid]
    }

    /// The upstream half of a stream closed: fine after a complete response; before the response
    /// head it becomes a 503 (Envoy: "upstream connect error or disconnect/reset before headers"),
    /// after it a reset of the client's stream. `failure`: the upstream connection's failure that
    /// ended it, if that is what did (side and errno, into the stream's flow record).
    func upstreamStreamEnded(_ s: Stream, errorCode: UInt32, failure: PeerClose? = nil) {
        if !s.responseStarted && errorCode == Self.refusedStream, let block = s.replay {
            s.attempts += 1
            forward(s, block: block, endStream: s.requestEnded)
            return
        }
        if !s.responseStarted {
            reply(s, status: 503, failure: failure)
        } else if errorCode != 0 && !session.isLocallyClosed(stream: s.id) {
            session.reset(stream: s.id, errorCode: Self.internalError)
            if let failure { recordFailure(s, failure) }
        }
    }

    /// The upstream connection is gone (`failure`: its side and errno): its unanswered streams are
    /// answered here, and streams cut mid-response get the failure in their records.
    func upstreamClosed(_ up: HTTP2Upstream, orphans: [Int32: Stream], failure: PeerClose) {
        if upstream === up { upstream = nil }
        for (_, s) in orphans {
            s.upstreamOpen = false
            returnUnsentRequestCredit(s)
            if s.clientOpen { upstreamStreamEnded(s, errorCode: Self.internalError, failure: failure) }
        }
        upstreams.removeAll { $0 === up }
    }
}
