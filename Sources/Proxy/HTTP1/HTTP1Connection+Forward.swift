import HTTP1
import SluiceIO

/// Phase: act by forwarding. Connect (or take a pooled connection), then write the request head
/// and body upstream straight from `down`.
extension HTTP1Connection {
    /// Takes a pooled upstream connection (SO_MARK carries the client's identity; see
    /// `SocketTransport`) or starts a connect bounded by the connect timeout. A spliced TLS
    /// connection (`splicing`) always gets a new one and relays once connected.
    func connectUpstream() {
        switch io.openUpstream(handler: self, pooled: !splicing) {
        case .ready:
            if splicing {
                startSplice()
            } else {
                state = .forwardingRequest
                armBodyTimer()
            }
        case .pending:
            state = .connecting
            arm(ctx.loop.now + ctx.config.connectTimeoutNs)
        case .failed(let errno):
            upstreamFailed(PeerClose(side: .upstream, errno: errno))
        }
    }

    func finishConnect() {
        let error = io.connectError()
        if error != 0 {
            upstreamFailed(PeerClose(side: .upstream, errno: error))
            return
        }
        if splicing {
            startSplice()
            return
        }
        // The request must keep moving: bounded by the body idle timeout.
        armBodyTimer()
        server.writable = true
        server.readable = true
        state = .forwardingRequest
    }

    /// The upstream refused, timed out or reset before any response byte: 503, like Envoy, its
    /// flow record naming the upstream's failure.
    func upstreamFailed(_ failure: PeerClose) {
        if splicing {
            spliceUpstreamFailed(failure)
            return
        }
        closeUpstream()
        if case .awaitingResponse(interimRelayed: true) = state {
            abort(failure, code: 0)
            return
        }
        // The request body may still be arriving; keep-alive only if it can be skipped cleanly.
        reply(status: 503, close: !clientKeepAlive, failure: failure)
    }

    /// Parks an idle, clean upstream connection in the worker's pool; closes any other.
    func releaseUpstream() {
        guard server.isOpen else { return }
        if upstreamIdle && up.isEmpty {
            io.parkUpstream()
            upstreamIdle = false
            return
        }
        closeUpstream()
    }

    func closeUpstream() {
        guard server.isOpen else { return }
        io.closeUpstream()
        upstreamIdle = false
        up.clear()
    }

    func stepForwardRequest() -> Bool {
        if preparer.hasRewrittenHead { return forwardRewrittenHead() }
        // Spliced body bytes go out before anything else (the buffer holds none of them).
        if io.piped > 0 { return drainPipe(.request) }
        var n = requestFraming.available(in: down.readable)
        if n < 0 {
            // Malformed chunked body after the head was forwarded: nothing sane can follow.
            close()
            return false
        }
        if let skip = closeEdit.skip {
            if skip.lowerBound == 0 {
                consumeRequest(skip.count)
                closeEdit.skip = nil
                closeEdit.dropped = true
                return true
            }
            if n >= skip.upperBound { return forwardHeadWithoutLine(skip, available: n) }
            n = min(n, skip.lowerBound)
        }
        if n > 0 {
            guard server.writable else { return false }
            switch server.write(UnsafeRawBufferPointer(rebasing: down.readable[..<n])) {
            case .progress(let w):
                consumeRequest(w)
                bodyActivityNs = ctx.loop.now
                if let skip = closeEdit.skip { closeEdit.skip = (skip.lowerBound - w)..<(skip.upperBound - w) }
            case .blocked:
                return false
            case .closed(let failure):
                return destinationFailed(.request, failure)
            }
        }
        if requestFraming.isComplete() {
            state = .awaitingResponse(interimRelayed: false)
            if ctx.config.requestTimeoutNs > 0 {
                arm(ctx.loop.now + ctx.config.requestTimeoutNs)
            } else {
                disarm()
            }
            return true
        }
        if n > 0 { return true }
        return readBody(.request, spliceable: requestFraming.spliceable, editPending: closeEdit.skip != nil)
    }

    /// `n` bytes of the request left `down`.
    func consumeRequest(_ n: Int) {
        down.consume(n)
        requestFraming.consumed(n)
    }

    /// One sendmsg of the request head around the dropped `Connection: close` line.
    private func forwardHeadWithoutLine(_ skip: Range<Int>, available n: Int) -> Bool {
        guard server.writable else { return false }
        let bytes = down.readable
        let before = UnsafeRawBufferPointer(rebasing: bytes[..<skip.lowerBound])
        let after = UnsafeRawBufferPointer(rebasing: bytes[skip.upperBound..<n])
        switch server.write(before, after) {
        case .progress(let w):
            consumeRequest(w < skip.lowerBound ? w : w + skip.count)
            if w < skip.lowerBound {
                closeEdit.skip = (skip.lowerBound - w)..<(skip.upperBound - w)
            } else {
                closeEdit.skip = nil
                closeEdit.dropped = true
            }
            return true
        case .blocked:
            return false
        case .closed(let failure):
            return destinationFailed(.request, failure)
        }
    }

    /// Writes the rebuilt head upstream in place of the received one, then drops the received
    /// head from `down`; the body follows from `down` as usual.
    private func forwardRewrittenHead() -> Bool {
        guard server.writable else { return false }
        let result = preparer.rewrittenHead.withUnsafeBytes { all in
            server.write(UnsafeRawBufferPointer(rebasing: all[preparer.rewrittenWritten...]))
        }
        switch result {
        case .progress(let w):
            preparer.rewrittenWritten += w
            if preparer.rewrittenWritten < preparer.rewrittenHead.count { return true }
            preparer.finishRewrite()
            consumeRequest(head.headLength)
            return true
        case .blocked:
            return false
        case .closed(let failure):
            preparer.finishRewrite()
            upstreamFailed(failure)
            return true
        }
    }
}
