import HTTP1
import SluiceIO

/// Phase: act by answering locally (403, 400/431, 502/503/504, 307), then skip the rest of the
/// request or end the connection (lingering close).
extension HTTP1Connection {
    /// Queues a locally generated answer and records its response flow; `failure`: the peer
    /// whose failed connection this answer reports.
    func reply(status: Int, close: Bool, failure: PeerClose? = nil) {
        out.clear()
        ctx.replies.append(status: status, close: close, to: out)
        record.response(code: UInt16(status), failure: failure)
        state = .localReply(status: status, thenClose: close)
    }

    func stepLocalReply() -> Bool {
        guard case .localReply(let status, let thenClose) = state else { return false }
        if !out.isEmpty {
            guard client.writable else { return false }
            switch client.write(out.readable) {
            case .progress(let n):
                out.consume(n)
                return true
            case .blocked:
                return false
            case .closed(let failure):
                abort(failure, code: status)
                return false
            }
        }
        if thenClose {
            endWithoutKeepAlive()
            return state != .closed
        }
        // Keep-alive after a 403: drop the request body, then read the next request.
        let n = requestFraming.available(in: down.readable)
        if n < 0 {
            state = .localReply(status: status, thenClose: true)
            return true
        }
        if n > 0 { consumeRequest(n) }
        if requestFraming.isComplete() {
            awaitNextRequest()
            return true
        }
        guard client.readable else { return false }
        _ = down.reserveSpace()
        return readDownstream()
    }

    /// Ends the connection after its last answer. When every byte the client sent was read
    /// (the request is complete, nothing is buffered and the last read drained the socket) it
    /// closes at once: the FIN follows the answer. Otherwise it half-closes and drains for up to
    /// 2 s (lingering close), because closing with unread bytes sends an RST that can destroy
    /// the answer in the client's receive queue. This is nginx's `lingering_close on`; bytes a
    /// client sends after reading an answer with `connection: close` are its own loss.
    func endWithoutKeepAlive() {
        if down.isEmpty && !client.readable && requestFraming.isFullyRead {
            close()
            return
        }
        io.shutdownClientWrite()
        state = .lingering
        arm(ctx.loop.now + 2_000_000_000)
    }

    func stepLinger() -> Bool {
        guard client.readable else { return false }
        down.clear()
        switch client.read(into: down) {
        case .progress:
            down.clear()
            return true
        case .blocked:
            return false
        case .closed:
            close()
            return false
        }
    }
}
