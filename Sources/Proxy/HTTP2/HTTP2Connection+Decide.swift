import Flows
import Glibc
import HTTP2
import Policy
import SluiceIO

/// Phases: decide (path check, policy verdict per stream) and act (forward on the upstream
/// session, or a local answer recorded as the stream's response flow).
extension HTTP2Connection {
    /// A complete request header block on a new stream: the policy verdict, then forward or answer.
    func onRequest(stream id: Int32, block: HTTP2HeaderBlock, endStream: Bool) {
        let s = Stream(
            id: id, record: HTTPFlowRecorder(flows: ctx.flows, recording: ctx.recording, common: common, proto: .http2))
        if isTLS { s.record.scheme = "https" }
        s.requestEnded = endStream
        streams[id] = s
        stall.arm()
        if block.overflowed {
            // More than the header list limit: answered 431 like HTTP/1 (Envoy resets; a status
            // tells the client why). The request cannot be judged, so its flow is an ERROR.
            s.record.malformedRequest()
            session.noteMalformedStream()
            reply(s, status: 431)
            return
        }
        guard let block = checkedPath(s, block) else { return }
        // The one decision HTTP1Connection makes too, on both sides.
        var edits = HTTPHeaderEdits()
        let verdict = HTTP2RequestView.with(block) { view -> HTTPVerdict in
            s.isGRPC = view.isGRPC
            s.isHEAD = view.isHEAD
            s.record.beginRequest(view)
            return deciders.evaluate(
                view, steer: steer, ctx: ctx, port: addresses.originalDestinationPort, edits: &edits)
        }
        s.record.decided(verdict)
        switch verdict.action {
        case .forward:
            let edited = edits.isEmpty ? block : edits.applied(to: block)
            forward(s, block: edited, endStream: endStream)
        case .forbid: reply(s, status: 403)
        case .reset: closeWithReset()
        }
    }

    /// The block with `:path` normalised as for HTTP/1 (`HTTP2PathCheck`), or nil when the stream
    /// was answered (400, or 307 to the unescaped path) with its request and response flows.
    func checkedPath(_ s: Stream, _ block: HTTP2HeaderBlock) -> HTTP2HeaderBlock? {
        let outcome = HTTP2PathCheck.check(block, underscores: ctx.config.headersWithUnderscores)
        if case .forward(let checked) = outcome { return checked }
        HTTP2RequestView.with(block) { view in
            s.isGRPC = view.isGRPC
            s.isHEAD = view.isHEAD
            s.record.beginRequest(view)
        }
        if case .redirect(let location) = outcome, !s.isGRPC {
            s.record.rejected(verdict: .dropped)
            reply(s, status: 307, location: location)
        } else {
            s.record.rejected(verdict: .error)
            session.noteMalformedStream()
            reply(s, status: 400)
        }
        return nil
    }

    /// Opens the stream on the upstream connection (connecting it first if needed).
    func forward(_ s: Stream, block: HTTP2HeaderBlock, endStream: Bool) {
        let up: HTTP2Upstream
        switch currentUpstream() {
        case .success(let ready): up = ready
        case .failure(let error):
            reply(s, status: 503, failure: PeerClose(side: .upstream, errno: error.errno))
            return
        }
        do {
            s.upstreamID = try up.session.submitRequest(block, hasBody: !endStream)
        } catch {
            reply(s, status: 503)
            return
        }
        s.upstream = up
        s.upstreamOpen = true
        s.replay = s.attempts < Self.maxReplays ? block : nil
        up.streams[s.upstreamID] = s
    }

    /// Replays of a refused stream at most (Cilium's `http-retry-count` is 3).
    static let maxReplays = 3
    static let refusedStream: UInt32 = 0x7

    /// The upstream connection new streams go on, connecting one when there is none; else why
    /// none could be started (its errno goes into the stream's flow record).
    func currentUpstream() -> Result<HTTP2Upstream, SyscallError> {
        if let up = upstream, !up.retired { return .success(up) }
        guard
            let up = try? HTTP2Upstream(
                owner: self, loop: ctx.loop, limits: ctx.config.http2Limits,
                bufferBytes: ctx.config.bufferBytes)
        else { return .failure(SyscallError("nghttp2_session_client_new", errno: ENOMEM)) }
        do {
            try up.connect(through: transport, timeoutNs: ctx.config.connectTimeoutNs)
        } catch {
            return .failure(error)
        }
        upstream = up
        upstreams.append(up)
        return .success(up)
    }

    /// A local answer on one stream (403, 431, 503...), recorded as its response flow; `failure`:
    /// the upstream's failure this answer reports (side and errno, into the record).
    func reply(_ s: Stream, status: Int, location: [UInt8]? = nil, failure: PeerClose? = nil) {
        let r = HTTP2LocalReply.make(
            status: status, grpc: s.isGRPC, accessDenied: ctx.config.accessDeniedMessage,
            location: location)
        s.responseStarted = true
        s.status = UInt16(clamping: r.status)
        s.record.response(code: s.status, failure: failure)
        let hasBody = !r.body.isEmpty && !s.isHEAD
        do {
            try session.submitResponse(stream: s.id, r.headers, hasBody: hasBody)
        } catch {
            return
        }
        if hasBody {
            session.append(stream: s.id, r.body)
            session.end(stream: s.id)
        }
    }
}
