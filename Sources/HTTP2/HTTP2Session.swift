internal import CNghttp2
import SluiceModel

/// Owns one `nghttp2_session` (server side toward a client, or client side toward an upstream)
/// and everything nghttp2 needs from us: the callbacks, the per-stream outgoing body queues and
/// the flood guard. Bytes go in through `receive` (`nghttp2_session_mem_recv`) and out through
/// `produce` (`nghttp2_session_mem_send`); no file descriptor is ever seen here.
///
/// The callbacks only record: they append `HTTP2Event`s (drained by the handler with
/// `takeEvents`), count frames in `guard`, and copy queued body bytes into DATA frames.
///
/// Gather mode (`gather: true`, opt-in; the observer's gRPC server): body bytes are never copied.
/// `produce(into:limit:)` fills an `HTTP2WriteBatch` for one writev: control frames and DATA frame
/// headers copied, DATA payloads as the very arrays given to `append` (nghttp2's
/// NGHTTP2_DATA_FLAG_NO_COPY with a send-data callback). Flow control, deferral, trailers and
/// resets work as in the default mode; no `dataSent` events are recorded.
///
/// The session is `user_data` of its nghttp2 object unretained: the C object never outlives
/// `close()`, which `deinit` also calls. One thread at a time (the owning loop's).
public final class HTTP2Session {
    public enum Role: Sendable { case server, client }

    /// Why the session cannot go on.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let code: Int
        public var description: String { String(cString: nghttp2_strerror(Int32(code))) }
        /// nghttp2's own flood defences fired (`NGHTTP2_ERR_FLOODED`: unread SETTINGS/PING ACKs;
        /// `NGHTTP2_ERR_TOO_MANY_CONTINUATIONS`): answered like the flood guard's findings.
        public var isFlood: Bool {
            code == Int(NGHTTP2_ERR_FLOODED.rawValue) || code == Int(NGHTTP2_ERR_TOO_MANY_CONTINUATIONS.rawValue)
        }
    }

    public let role: Role
    public let limits: HTTP2Limits
    private var session: OpaquePointer?
    var events: [HTTP2Event] = []
    var pending: [Int32: HTTP2HeaderBlock] = [:]
    var outboxes: [Int32: HTTP2Outbox] = [:] {
        didSet { cachedBox = nil }
    }
    /// The outbox last looked up by `outbox(_:)` (a handler appends to one stream many times in
    /// a row); dropped whenever `outboxes` changes.
    private var cachedStream: Int32 = 0
    private var cachedBox: HTTP2Outbox?
    /// Gather mode (see the type's comment).
    public let gathers: Bool
    /// Gather mode: the outbox whose reserved bytes are the DATA frame nghttp2 sends next, and
    /// the batch (and its byte limit) of the `produce(into:limit:)` running now.
    var sending: HTTP2Outbox?
    var gatherBatch: HTTP2WriteBatch?
    var gatherLimit = 0
    public internal(set) var guardian: HTTP2FloodGuard
    /// The clock the flood guard reads (the proxy's: coarse monotonic; a test's: `ManualClock`).
    public var clock: any Clock

    /// Creates the session and queues our SETTINGS (and, for a client, the connection preface).
    public init(role: Role, limits: HTTP2Limits = .default, clock: any Clock, gather: Bool = false) throws(Failure) {
        self.role = role
        self.gathers = gather
        self.limits = limits
        self.guardian = HTTP2FloodGuard(limits: limits)
        self.clock = clock
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        HTTP2Callbacks.install(callbacks, gather: gather)
        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_continuations(option, limits.maxContinuations)
        nghttp2_option_set_stream_reset_rate_limit(option, limits.resetBurst, limits.resetRatePerSecond)
        nghttp2_option_set_max_outbound_ack(option, limits.maxOutboundAcks)
        nghttp2_option_set_max_settings(option, 32)
        let me = Unmanaged.passUnretained(self).toOpaque()
        let rc =
            role == .server
            ? nghttp2_session_server_new2(&session, callbacks, me, option)
            : nghttp2_session_client_new2(&session, callbacks, me, option)
        guard rc == 0 else { throw Failure(code: Int(rc)) }
        var settings: [nghttp2_settings_entry] = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                value: UInt32(limits.initialStreamWindow))
        ]
        if role == .server {
            settings.append(
                nghttp2_settings_entry(
                    settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                    value: limits.maxConcurrentStreams))
            settings.append(
                nghttp2_settings_entry(
                    settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                    value: UInt32(limits.maxHeaderListSize)))
        } else {
            settings.append(nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0))
        }
        _ = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), settings, settings.count)
        _ = nghttp2_session_set_local_window_size(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0,
            limits.connectionWindow)
    }

    deinit { close() }

    /// Frees the nghttp2 session. Idempotent.
    public func close() {
        if let s = session { nghttp2_session_del(s) }
        session = nil
        outboxes.removeAll()
        sending = nil
    }

    // MARK: bytes in, bytes out

    /// Feeds received bytes (`nghttp2_session_mem_recv`); events are recorded for `takeEvents`.
    /// Throws when the peer broke the protocol badly enough that nghttp2 gave up (it has queued a
    /// GOAWAY where the protocol calls for one: `produce` it, then close).
    public func receive(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        guard let session, let base = bytes.baseAddress, bytes.count > 0 else { return }
        let n = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if n < 0 { throw Failure(code: n) }
    }

    /// The next bytes to send (`nghttp2_session_mem_send`), valid until the next call into the
    /// session; nil when nothing is ready. Copy them out at once.
    /// Not for a gather-mode session (`produce(into:limit:)`).
    public func produce() throws(Failure) -> UnsafeRawBufferPointer? {
        guard let session else { return nil }
        precondition(!gathers, "a gather-mode session produces into a write batch")
        var p: UnsafePointer<UInt8>?
        let n = nghttp2_session_mem_send(session, &p)
        if n < 0 { throw Failure(code: n) }
        guard n > 0, let p else { return nil }
        return UnsafeRawBufferPointer(start: p, count: n)
    }

    /// Gather mode: frames into `batch` until it holds at least `limit` bytes or nothing is ready
    /// to send (flow control, no queued bytes). Control frames are copied into the batch, DATA
    /// payloads referenced (see `HTTP2WriteBatch`). A frame that no longer fits waits in nghttp2
    /// for the next call; a DATA frame is never split across batches.
    public func produce(into batch: HTTP2WriteBatch, limit: Int) throws(Failure) {
        guard let session else { return }
        precondition(gathers, "produce(into:limit:) needs a gather-mode session")
        gatherBatch = batch
        gatherLimit = limit
        defer { gatherBatch = nil }
        while batch.count < limit {
            var p: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &p)
            if n < 0 { throw Failure(code: n) }
            guard n > 0, let p else { return }
            batch.append(copying: UnsafeRawBufferPointer(start: p, count: n))
            batch.countFrame()
        }
    }

    /// Events recorded since the last call, oldest first.
    public func takeEvents() -> [HTTP2Event] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    /// False once neither side wants anything (`nghttp2_session_want_read/want_write` both 0):
    /// the connection should be closed.
    public var isAlive: Bool {
        guard let session else { return false }
        return nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0
    }

    public var wantsWrite: Bool {
        guard let session else { return false }
        return nghttp2_session_want_write(session) != 0
    }

    // MARK: acting on streams

    /// Client side: opens a stream with `headers` (pseudo-headers first); returns its ID.
    /// `hasBody`: DATA will follow through `append`/`end`, else END_STREAM is on the HEADERS.
    public func submitRequest(_ headers: HTTP2HeaderBlock, hasBody: Bool) throws(Failure) -> Int32 {
        let id = submit(headers, provider: hasBody) { s, nva, count, provider in
            nghttp2_submit_request(s, nil, nva, count, provider, nil)
        }
        guard id > 0 else { throw Failure(code: Int(id)) }
        if hasBody { outboxes[id] = HTTP2Outbox(keepsChunks: gathers) }
        return id
    }

    /// Server side: answers `stream` with `headers`; `hasBody` as for `submitRequest`.
    public func submitResponse(stream: Int32, _ headers: HTTP2HeaderBlock, hasBody: Bool) throws(Failure) {
        if hasBody { outboxes[stream] = HTTP2Outbox(keepsChunks: gathers) }
        let rc = submit(headers, provider: hasBody) { s, nva, count, provider in
            nghttp2_submit_response(s, stream, nva, count, provider)
        }
        if rc != 0 {
            outboxes[stream] = nil
            throw Failure(code: Int(rc))
        }
    }

    /// Queues body bytes on a stream opened with `hasBody`. False (nothing queued) when the
    /// stream has no open body: the caller still owes the sender their flow-control credit.
    @discardableResult
    public func append(stream: Int32, _ bytes: [UInt8]) -> Bool {
        guard let box = outbox(stream), !box.ended else { return false }
        box.append(bytes)
        resume(stream, box)
        return true
    }

    /// Ends the body of a stream: END_STREAM on the last DATA frame, or `trailers` after it.
    /// For a stream opened without a body, `trailers` are sent as a HEADERS frame at once.
    public func end(stream: Int32, trailers: HTTP2HeaderBlock? = nil) {
        guard let box = outboxes[stream] else { return }
        guard !box.ended else { return }
        box.ended = true
        box.trailers = trailers
        resume(stream, box)
    }

    /// Bytes still queued on a stream (not yet in a DATA frame).
    public func queued(stream: Int32) -> Int { outbox(stream)?.queued ?? 0 }

    /// `outboxes[stream]` through a one-entry cache.
    @inline(__always)
    private func outbox(_ stream: Int32) -> HTTP2Outbox? {
        if stream == cachedStream, let cachedBox { return cachedBox }
        let box = outboxes[stream]
        if box != nil {
            cachedStream = stream
            cachedBox = box
        }
        return box
    }

    /// Returns `count` bytes of flow-control credit to the peer for `stream` and the connection
    /// (`nghttp2_session_consume`): those bytes were handed on, the peer may send more.
    public func consume(stream: Int32, _ count: Int) {
        guard let session, count > 0 else { return }
        _ = nghttp2_session_consume(session, stream, count)
    }

    /// Sends RST_STREAM (`nghttp2_submit_rst_stream`).
    public func reset(stream: Int32, errorCode: UInt32) {
        guard let session else { return }
        outboxes[stream] = nil
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), stream, errorCode)
    }

    /// Sends GOAWAY with `errorCode` and stops processing (`nghttp2_session_terminate_session`).
    public func terminate(errorCode: UInt32) {
        guard let session else { return }
        _ = nghttp2_session_terminate_session(session, errorCode)
    }

    /// Sends GOAWAY(NO_ERROR) but lets open streams finish (graceful shutdown).
    public func shutdownGracefully() {
        guard let session else { return }
        _ = nghttp2_submit_goaway(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue),
            nghttp2_session_get_last_proc_stream_id(session), 0, nil, 0)
    }

    /// Server side: we answered one of the peer's streams as malformed (400, 431) without
    /// forwarding it; it counts toward the rapid-reset budget like a stream we reset
    /// (`HTTP2FloodGuard.streamMalformed`). The connection checks `guardian.violation` after.
    public func noteMalformedStream() {
        guardian.streamMalformed()
    }

    /// How many body bytes we may still send on `stream` now: the smaller of the peer's window
    /// for the stream and for the connection (RFC 9113 6.9). 0 or less: DATA is stuck until the
    /// peer sends WINDOW_UPDATE.
    public func sendWindow(stream: Int32) -> Int {
        guard let session else { return 0 }
        let s = nghttp2_session_get_stream_remote_window_size(session, stream)
        let c = nghttp2_session_get_remote_window_size(session)
        return Int(min(s, c))
    }

    /// Whether our side of `stream` is closed (`nghttp2_session_get_stream_local_close`).
    public func isLocallyClosed(stream: Int32) -> Bool {
        guard let session else { return true }
        return nghttp2_session_get_stream_local_close(session, stream) != 0
    }

    /// Whether nghttp2 still knows `stream` as open.
    public func isOpen(stream: Int32) -> Bool {
        guard let session else { return false }
        return nghttp2_session_find_stream(session, stream) != nil
            && nghttp2_session_get_stream_remote_close(session, stream) >= 0
    }

    /// Server side, h2c upgrade (RFC 7540 3.2): stream 1 is the HTTP/1.1 request, half-closed
    /// (remote) when `bodyFollows` is false; `settings` is the decoded HTTP2-Settings payload.
    public func upgrade(settings: [UInt8], headRequest: Bool) throws(Failure) {
        guard let session else { throw Failure(code: Int(NGHTTP2_ERR_INVALID_STATE.rawValue)) }
        let rc = settings.withUnsafeBufferPointer {
            nghttp2_session_upgrade2(session, $0.baseAddress, $0.count, headRequest ? 1 : 0, nil)
        }
        if rc != 0 { throw Failure(code: Int(rc)) }
    }

    // MARK: internals

    private func resume(_ stream: Int32, _ box: HTTP2Outbox) {
        guard box.deferred, let session else { return }
        box.deferred = false
        _ = nghttp2_session_resume_data(session, stream)
    }

    /// Builds an `nghttp2_nv` array over `headers` (nghttp2 copies it) and calls `body`.
    func submitHeaders(
        _ headers: HTTP2HeaderBlock,
        _ body: (OpaquePointer?, UnsafePointer<nghttp2_nv>?, Int) -> Int32
    ) -> Int32 {
        guard let session else { return Int32(NGHTTP2_ERR_INVALID_STATE.rawValue) }
        var storage = headers.storage
        if storage.isEmpty { storage.append(0) }
        return storage.withUnsafeMutableBufferPointer { buf -> Int32 in
            guard let base = buf.baseAddress else { return Int32(NGHTTP2_ERR_INVALID_ARGUMENT.rawValue) }
            var nva: [nghttp2_nv] = headers.fields.map { f in
                nghttp2_nv(
                    name: base + f.name.lowerBound, value: base + f.value.lowerBound,
                    namelen: f.name.count, valuelen: f.value.count,
                    flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
            }
            return nva.withUnsafeMutableBufferPointer { nv in body(session, nv.baseAddress, nv.count) }
        }
    }

    /// Like `submitHeaders`, with the shared data provider when `provider` is set.
    private func submit(
        _ headers: HTTP2HeaderBlock, provider: Bool,
        _ body: (
            OpaquePointer?, UnsafePointer<nghttp2_nv>?, Int,
            UnsafePointer<nghttp2_data_provider>?
        ) -> Int32
    ) -> Int32 {
        var dp = nghttp2_data_provider(
            source: nghttp2_data_source(ptr: nil),
            read_callback: gathers ? HTTP2Callbacks.readNoCopy : HTTP2Callbacks.read)
        return withUnsafePointer(to: &dp) { dpp in
            submitHeaders(headers) { s, nva, count in body(s, nva, count, provider ? dpp : nil) }
        }
    }
}
