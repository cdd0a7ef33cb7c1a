import HTTP1
import SluiceIO

/// Phase: read and parse the request head (and, on a new connection, detect HTTP/2).
extension HTTP1Connection {
    func stepReadHead() -> Bool {
        if state == .detecting && !down.isEmpty {
            // Protocol detection on the first bytes (RFC 9113 3.4): the HTTP/2 client preface
            // hands the connection to HTTP2Connection.
            switch HTTP2Preface.classify(down.readable) {
            case .http2:
                handOffToHTTP2(consumed: 0, upgrade: nil)
                return false
            case .needMore:
                guard client.readable, down.reserveSpace() else { return false }
                return readDownstream()
            case .http1:
                state = .readingHead
            }
        }
        if !down.isEmpty {
            switch headReader.parse(down.readable, into: &head, limits: ctx.config.httpLimits) {
            case .complete:
                headReader.reset()
                headDeadlineArmed = false
                decide()
                return true
            case .error(let e):
                headReader.reset()
                badRequest(e)
                return true
            case .needMore:
                break
            }
        }
        guard client.readable else { return false }
        guard down.reserveSpace() else {
            badRequest(.headBufferFull)
            return true
        }
        return readDownstream()
    }

    /// Reads from the client into `down`. Returns whether progress was made.
    func readDownstream() -> Bool {
        switch client.read(into: down) {
        case .progress:
            // The first bytes of a head start its deadline; later reads do not extend it.
            if !headDeadlineArmed && (state == .readingHead || state == .detecting) { armHeadDeadline() }
            return true
        case .blocked:
            return false
        case .closed(let failure):
            // The client went away: between requests that is the normal end; mid-request it
            // abandons the request, which its flow record says.
            if state == .forwardingRequest {
                abort(failure, code: 0)
            } else {
                close()
            }
            return false
        }
    }

    func badRequest(_ error: ParseError) {
        record.malformedRequest()
        reply(status: error.status, close: true)
    }
}
