import Glibc
import SluiceIO
import TLSClientHello

/// Phase: a connection to a port with `serverNames` rules (docs/policy.md "TLS server names").
/// Instead of a request head the proxy reads the client's first flight until the ClientHello is
/// complete (however it is split across reads; bounded by `ClientHelloLimits` and the request
/// head timeout), judges its SNI (`TLSDecision`) and then either connects to the original
/// destination and splices both ways untouched, the buffered first flight included (the tunnel
/// phase, `+Tunnel`), or resets the client (SO_LINGER 0) after writing the DROPPED flow that
/// names the SNI (`TLSFlowRecorder`). A client that closes before its ClientHello is complete
/// leaves an ERROR flow (downstream EOF or the errno). Nothing is decrypted; no byte is changed.
extension HTTP1Connection {
    /// Starts the ClientHello phase of a new connection.
    func startTLSHello() {
        state = .tlsHello
        arm(after: ctx.config.requestHeadTimeoutNs)
    }

    func stepTLSHello() -> Bool {
        if !down.isEmpty {
            switch ClientHelloParser.parse(down.readable) {
            case .needMore:
                break
            case .parsed(let hello):
                decideTLS(serverName: hello.serverName)
                return true
            case .notTLS, .malformed:
                // Not a ClientHello: no SNI, which no `serverNames` entry matches.
                decideTLS(serverName: nil)
                return true
            }
        }
        guard client.readable else { return false }
        guard down.reserveSpace() else {
            // Longer than any ClientHello the parser accepts: cannot happen with its limits,
            // but never buffer without bound.
            decideTLS(serverName: nil)
            return true
        }
        switch client.read(into: down) {
        case .progress:
            return true
        case .blocked:
            return false
        case .closed(let failure):
            // The client went away before its ClientHello was complete: nothing to judge, but an
            // ERROR flow says so (downstream EOF, or the errno of its reset), and no SNI is named.
            tlsRecorder.failed(failure, serverName: nil)
            close()
            return false
        }
    }

    /// No complete ClientHello within the request head timeout: an ERROR flow naming the
    /// client's ETIMEDOUT, and a reset.
    func tlsHelloTimedOut() {
        tlsRecorder.failed(PeerClose(side: .downstream, errno: ETIMEDOUT), serverName: nil)
        closeWithReset()
    }

    private func decideTLS(serverName: String?) {
        tlsServerName = serverName
        let verdict = TLSDecision.evaluate(
            serverName: serverName, steer: steer, snapshot: ctx.snapshot, port: addresses.originalDestinationPort)
        tlsRecorder.decided(verdict, serverName: serverName)
        guard verdict.action == .forward else {
            closeWithReset()
            return
        }
        splicing = true
        connectUpstream()
    }

    /// Connected: relay both ways, the buffered first flight first.
    func startSplice() {
        server.writable = true
        server.readable = true
        state = .tunnel(upstreamEnded: false)
        tunnelActivityNs = ctx.loop.now
        arm(after: ctx.config.tunnelIdleTimeoutNs)
    }

    /// The upstream refused or timed out: no HTTP answer on a TLS connection; an ERROR flow and
    /// a reset.
    func spliceUpstreamFailed(_ failure: PeerClose) {
        tlsRecorder.failed(failure, serverName: tlsServerName)
        closeUpstream()
        closeWithReset()
    }
}
