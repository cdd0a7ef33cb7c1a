import HTTP1
import SluiceIO

/// Phase: act by forwarding. Connect (or take a pooled connection), then write the request head
/// and body upstream straight from `down`.
extension HTTP1Connection {
    /// SO_MARK of this connection's upstream sockets: the client's identity rides along
    /// (`SteerInfo.upstreamMark`); pooled upstream connections are only reused with the same one.
    private var upstreamMark: UInt32 { steer?.upstreamMark ?? ProxyMarks.fromProxy(identity: 0) }

    func connectUpstream() {
        if let pooled = ctx.upstreams.take(address: addresses.originalDestinationAddress,
                                           port: addresses.originalDestinationPort, mark: upstreamMark, for: self,
                                           tag: Tag.upstream) {
            serverRegistration = pooled.registration
            server = SocketPeer(fd: pooled.fd, side: .upstream, readable: false, writable: true)
            state = .forwardingRequest
            return
        }
        var fd: Int32 = -1
        do {
            fd = try Socket.connectTCP(address: addresses.originalDestinationAddress,
                                       port: addresses.originalDestinationPort, mark: upstreamMark)
            serverRegistration = try ctx.loop.register(fd: fd, events: Self.interest, handler: self,
                                                       tag: Tag.upstream)
        } catch {
            if fd >= 0 { Socket.close(fd) }
            upstreamFailed(PeerClose(side: .upstream, errno: error.errno))
            return
        }
        server = SocketPeer(fd: fd, side: .upstream)
        state = .connecting
        arm(ctx.loop.now + ctx.config.connectTimeoutNs)
    }

    func finishConnect() {
        let error = Socket.pendingError(server.fd)
        if error != 0 {
            upstreamFailed(PeerClose(side: .upstream, errno: error))
            return
        }
        disarm()
        server.writable = true
        server.readable = true
        state = .forwardingRequest
    }

    /// The upstream refused, timed out or reset before any response byte: 503, like Envoy, its
    /// flow record naming the upstream's failure.
    func upstreamFailed(_ failure: PeerClose) {
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
            ctx.upstreams.park(fd: server.fd, registration: serverRegistration,
                               address: addresses.originalDestinationAddress,
                               port: addresses.originalDestinationPort, mark: upstreamMark)
            server = SocketPeer(fd: -1, side: .upstream)
            serverRegistration = .none
            upstreamIdle = false
            return
        }
        closeUpstream()
    }

    func closeUpstream() {
        guard server.isOpen else { return }
        ctx.loop.forget(serverRegistration)
        Socket.close(server.fd)
        server = SocketPeer(fd: -1, side: .upstream)
        serverRegistration = .none
        upstreamIdle = false
        up.clear()
    }

    func stepForwardRequest() -> Bool {
        if preparer.hasRewrittenHead { return forwardRewrittenHead() }
        var n = requestFraming.available(in: down.readable)
        if n < 0 {
            // Malformed chunked body after the head was forwarded: nothing sane can follow.
            close()
            return false
        }
        if let skip = skipLine {
            if skip.lowerBound == 0 {
                consumeRequest(skip.count)
                skipLine = nil
                requestCloseDropped = true
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
                if let skip = skipLine { skipLine = (skip.lowerBound - w)..<(skip.upperBound - w) }
            case .blocked:
                return false
            case .closed(let failure):
                upstreamFailed(failure)
                return true
            }
        }
        if requestFraming.isComplete() {
            state = .awaitingResponse(interimRelayed: false)
            arm(ctx.loop.now + ctx.config.requestTimeoutNs)
            return true
        }
        if n > 0 { return true }
        guard client.readable else { return false }
        _ = down.reserveSpace()
        return readDownstream()
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
                skipLine = (skip.lowerBound - w)..<(skip.upperBound - w)
            } else {
                skipLine = nil
                requestCloseDropped = true
            }
            return true
        case .blocked:
            return false
        case .closed(let failure):
            upstreamFailed(failure)
            return true
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
