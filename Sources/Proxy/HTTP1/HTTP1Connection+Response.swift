import HTTP1
import SluiceIO

/// Phase: relay the response. Parse its head in `up`, record it, then write head and body to the
/// client straight from `up` (inserting `connection: close` when the client's was dropped).
extension HTTP1Connection {
    func stepAwaitResponse() -> Bool {
        if !up.isEmpty {
            switch HTTP1Parser.parseResponseHead(
                up.readable, requestMethodIsHEAD: requestIsHEAD,
                into: &response, limits: ctx.config.httpLimits)
            {
            case .complete:
                beginResponse()
                return true
            case .error:
                closeUpstream()
                if state == .awaitingResponse(interimRelayed: true) { close(); return false }
                reply(status: 502, close: true)
                return true
            case .needMore:
                break
            }
        }
        guard server.readable else { return false }
        guard up.reserveSpace() else {
            closeUpstream()
            reply(status: 502, close: true)
            return true
        }
        return readUpstream()
    }

    /// Reads from the upstream into `up`; an EOF ends an until-close body or fails the response.
    func readUpstream() -> Bool {
        switch server.read(into: up) {
        case .progress: return true
        case .blocked: return false
        case .closed(let failure):
            upstreamEnded(failure)
            return true
        }
    }

    func upstreamEnded(_ failure: PeerClose) {
        switch state {
        case .relayingResponse:
            if response.framing == .untilClose {
                // The body ends with the connection: relay what is buffered, then finish.
                server.readable = false
                state = .relayingResponse(upstreamEnded: true)
                return
            }
            closeUpstream()
            abort(failure, code: response.status)
        case .awaitingResponse(let interimRelayed):
            if interimRelayed {
                closeUpstream()
                abort(failure, code: 0)
            } else {
                upstreamFailed(failure)
            }
        case .tunnel:
            server.readable = false
            state = .tunnel(upstreamEnded: true)
        default:
            closeUpstream()
        }
    }

    private var responseIsInterim: Bool { response.status >= 100 && response.status < 200 && response.status != 101 }

    private func beginResponse() {
        // The response timeout runs on through 1xx interim answers, until the final head; the
        // body idle timeout bounds the relay of the rest.
        if responseIsInterim {
            bodyActivityNs = ctx.loop.now
        } else {
            armBodyTimer()
        }
        if response.status == 101 && !upgradeAccepted() {
            // Unsolicited, or a protocol the client did not ask for (or h2c, which would carry
            // HTTP/2 streams past the policy): never relayed, never a tunnel.
            closeUpstream()
            reply(status: 502, close: true)
            return
        }
        let interim = responseIsInterim
        if !interim {
            record.response(code: UInt16(truncatingIfNeeded: response.status))
        }
        let h = response.headLength
        if closeEdit.dropped && !interim && response.status != 101 && response.keepAlive && h >= 4,
            up.readable[h - 3] == 0x0A, up.readable[h - 2] == 0x0D, up.readable[h - 1] == 0x0A
        {
            closeEdit.insertAt = h - 2
            closeEdit.inserted = 0
        }
        // Saturating: an upstream Content-Length near Int.max is a broken upstream, not a trap.
        guard
            let framing = MessageFraming(
                response.framing, headLength: h, isRequest: false,
                limits: ctx.config.httpLimits)
        else {
            closeUpstream()
            reply(status: 502, close: true)
            return
        }
        responseFraming = framing
        state = .relayingResponse(upstreamEnded: false)
    }

    func stepRelayResponse() -> Bool {
        // Spliced body bytes go out before anything else (the buffer holds none of them).
        if io.piped > 0 { return drainPipe(.response) }
        let upstreamEnded = state == .relayingResponse(upstreamEnded: true)
        var n = responseFraming.available(in: up.readable)
        if n < 0 {
            closeUpstream()
            close()
            return false
        }
        if let at = closeEdit.insertAt {
            if n >= at { return relayHeadWithCloseLine(at: at, available: n) }
            n = min(n, at)
        }
        if n > 0 {
            guard client.writable else { return false }
            switch client.write(UnsafeRawBufferPointer(rebasing: up.readable[..<n])) {
            case .progress(let w):
                consumeResponse(w)
                bodyActivityNs = ctx.loop.now
                if let at = closeEdit.insertAt { closeEdit.insertAt = at - w }
            case .blocked:
                return false
            case .closed(let failure):
                return destinationFailed(.response, failure)
            }
        }
        if responseFraming.isComplete(closedAndDrained: upstreamEnded && up.isEmpty) {
            finishResponse(upstreamEnded: upstreamEnded)
            return true
        }
        if n > 0 { return true }
        if upstreamEnded {
            // EOF inside a length-delimited or chunked body: the response is truncated.
            closeUpstream()
            abort(PeerClose(side: .upstream, errno: 0), code: response.status)
            return false
        }
        // The upstream's EOF in the pipe's fill ends an until-close body; inside a length or
        // chunked body it is a truncation (the pipe is empty then: the client got every byte
        // before it, then the close).
        return readBody(.response, spliceable: responseFraming.spliceable, editPending: closeEdit.insertAt != nil)
    }

    /// `n` bytes of the response left `up` for the client.
    private func consumeResponse(_ n: Int) {
        up.consume(n)
        responseFraming.consumed(n)
    }

    /// One sendmsg of the response head with (the rest of) `connection: close` inserted at `at`
    /// (0 once the bytes before it are out), then what follows it up to `n`.
    private func relayHeadWithCloseLine(at: Int, available n: Int) -> Bool {
        guard client.writable else { return false }
        return ConnectionCloseEdit.line.withUTF8Buffer { lineBytes in
            let line = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(lineBytes)[closeEdit.inserted...])
            let bytes = up.readable
            switch client.write(
                UnsafeRawBufferPointer(rebasing: bytes[..<at]), line,
                UnsafeRawBufferPointer(rebasing: bytes[at..<n]))
            {
            case .progress(let w):
                consumeResponse(w <= at ? w : max(at, w - line.count))
                if w < at {
                    closeEdit.insertAt = at - w
                } else if w < at + line.count {
                    closeEdit.insertAt = 0
                    closeEdit.inserted += w - at
                } else {
                    closeEdit.insertAt = nil
                }
                return true
            case .blocked:
                return false
            case .closed(let failure):
                return destinationFailed(.response, failure)
            }
        }
    }

    private func finishResponse(upstreamEnded: Bool) {
        if responseIsInterim {
            state = .awaitingResponse(interimRelayed: true)
            return
        }
        if response.status == 101 {
            state = .tunnel(upstreamEnded: upstreamEnded)
            tunnelActivityNs = ctx.loop.now
            arm(after: ctx.config.tunnelIdleTimeoutNs)
            return
        }
        if !response.keepAlive || upstreamEnded {
            closeUpstream()
        } else {
            upstreamIdle = true
        }
        // A body that ended with the upstream's connection has no other end the client could
        // see: the client's connection ends with it (RFC 9112 6.3).
        if !clientKeepAlive || response.framing == .untilClose {
            releaseUpstream()
            endWithoutKeepAlive()
            return
        }
        awaitNextRequest()
    }
}
