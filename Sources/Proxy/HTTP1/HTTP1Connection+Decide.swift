import HTTP1
import Policy
import SluiceIO

/// Phase: decide. The prepared request view gets its policy verdict; then forward, answer or drop.
extension HTTP1Connection {
    /// The decide phase: policy verdict for the parsed head, then forward or answer.
    func decide() {
        let bytes = down.readable
        // `Upgrade: h2c` (RFC 7540 3.2) with a chunked body cannot be switched (its end is unknown
        // before the switch).
        if head.upgradeH2C, case .chunked = head.framing {
            badRequest(.h2cUpgradeWithChunkedBody)
            return
        }
        guard
            let framing = MessageFraming(
                head.framing, headLength: head.headLength, isRequest: true,
                limits: ctx.config.httpLimits)
        else {
            badRequest(.contentLengthTooLarge)
            return
        }
        guard let (path, authority) = prepared(bytes) else { return }
        // Read before the view borrows the head's field list.
        let upgrade = head.upgradeH2C ? HTTP2Upgrade(bytes: bytes, head: head) : nil
        let versionMinor = head.versionMinor
        var isHEAD = false
        // The action is read once: each read of it passed the verdict, just stored byte by byte,
        // to `HTTPVerdict.action` as words, a store-forwarding stall each (docs/performance.md).
        var action = HTTPVerdict.Action.reset
        let verdict = RequestView.with(bytes: bytes, head: &head, path: path, authority: authority) { view in
            let verdict = deciders.evaluate(
                view, steer: steer, ctx: ctx, port: addresses.originalDestinationPort, edits: &headerEdits)
            action = verdict.action
            isHEAD = view.isHEAD
            // An allowed h2c upgrade is judged and recorded again by HTTP2Connection (below).
            if upgrade == nil || action != .forward { record.beginRequest(view: view, versionMinor: versionMinor) }
            return verdict
        }
        if let upgrade, action == .forward {
            // An allowed h2c upgrade: HTTP2Connection answers the 101 itself and judges (and
            // records) the request again as stream 1; the upstream's 101 is never relayed. A
            // denied one is answered 403 below like any request, never 101 (docs/http2.md).
            handOffToHTTP2(consumed: head.headLength, upgrade: upgrade)
            return
        }
        requestIsHEAD = isHEAD
        clientKeepAlive = head.keepAlive
        rememberUpgrade(bytes)
        record.decided(verdict)
        requestFraming = framing

        let hasBody: Bool
        switch head.framing {
        case .none, .untilClose: hasBody = false
        case .contentLength(let n): hasBody = n > 0
        case .chunked: hasBody = true
        }
        guard action != .forward else {
            upstreamIdle = false
            if !headerEdits.isEmpty {
                preparer.apply(headerEdits, bytes: bytes, headLength: head.headLength)
            }
            closeEdit = ConnectionCloseEdit(
                skip: preparer.hasRewrittenHead
                    ? nil
                    : head.soleConnectionCloseLine(in: bytes))
            if head.expectContinue && hasBody {
                // Like Envoy (proxy_100_continue off), answer 100-continue ourselves so the
                // client sends its body at once; an upstream 100 is relayed too, which clients
                // ignore (RFC 9110 15.2: any number of 1xx may precede the final answer).
                _ = ProxyInterim.continue100.withUnsafeBytes { client.write($0) }
            }
            if server.isOpen {
                state = .forwardingRequest
                // The request must keep moving: bounded by the body idle timeout.
                armBodyTimer()
            } else {
                connectUpstream()
            }
            return
        }
        if action == .reset {
            // No rule admits this peer on this port at all: Cilium drops it at L3/L4, so the
            // client sees a dead connection, not an HTTP answer.
            closeWithReset()
            return
        }
        // A client waiting for 100-continue never sends the body after a final answer, so the
        // connection cannot be reused safely: close after the 403 (Envoy does the same).
        reply(status: 403, close: !clientKeepAlive || (head.expectContinue && hasBody))
    }

    /// Keeps the request's `Upgrade` value (lower-cased) when it asked for an upgrade; empty
    /// otherwise. Touches nothing for the common request without one.
    private func rememberUpgrade(_ bytes: UnsafeRawBufferPointer) {
        if !requestedUpgrade.isEmpty { requestedUpgrade.removeAll(keepingCapacity: true) }
        guard let value = head.upgrade else { return }
        requestedUpgrade.append(contentsOf: bytes[value])
    }

    /// The path and authority to decide on, after `HTTP1RequestPreparer`'s checks; nil when the
    /// request was answered here (400 and close for an invalid Host, path, field name or length;
    /// 307 for an encoded slash), each with its request and response flow records.
    private func prepared(_ bytes: UnsafeRawBufferPointer)
        -> (path: UnsafeRawBufferPointer, authority: UnsafeRawBufferPointer)?
    {
        switch preparer.prepare(bytes: bytes, head: &head, underscores: ctx.config.headersWithUnderscores) {
        case .forward(let path, let authority):
            return (path, authority)
        case .reject(let error):
            beginRequestAsReceived(bytes)
            record.rejected(verdict: .error)
            reply(status: error.status, close: true)
            return nil
        case .redirect(let location):
            // Envoy's UNESCAPE_AND_REDIRECT: never forwarded, the client asks again for the
            // unescaped path. Keep-alive only when there is no body to skip.
            beginRequestAsReceived(bytes)
            record.rejected(verdict: .dropped)
            clientKeepAlive = head.keepAlive
            let close = !head.keepAlive || head.framing != .none
            requestFraming = MessageFraming(
                .none, headLength: head.headLength, isRequest: true,
                limits: ctx.config.httpLimits)!
            out.clear()
            ctx.replies.appendRedirect(location: location, close: close, to: out)
            record.response(code: 307)
            state = .localReply(status: 307, thenClose: close)
            return nil
        }
    }

    /// The request facts of a request answered before the decision, as received.
    private func beginRequestAsReceived(_ bytes: UnsafeRawBufferPointer) {
        let versionMinor = head.versionMinor
        RequestView.with(bytes: bytes, head: &head) { record.beginRequest(view: $0, versionMinor: versionMinor) }
    }
}

/// Interim answers the proxy sends itself.
enum ProxyInterim {
    static let continue100: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}
