internal import CNghttp2
import SluiceModel

/// The nghttp2 callbacks of `HTTP2Session`: file-scope, non-capturing, each unwrapping
/// `user_data` (the session, unretained) and recording into it. They return 0 (go on) except
/// where noted; nothing here acts on the connection.
enum HTTP2Callbacks {
    static func install(_ cbs: OpaquePointer?, gather: Bool) {
        nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, onBeginFrame)
        nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose)
        nghttp2_session_callbacks_set_on_frame_send_callback(cbs, onFrameSend)
        if gather { nghttp2_session_callbacks_set_send_data_callback(cbs, sendData) }
    }

    @inline(__always) static func owner(_ p: UnsafeMutableRawPointer?) -> HTTP2Session? {
        p.map { Unmanaged<HTTP2Session>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Every frame header, before its payload: feeds the flood guard.
    static let onBeginFrame: nghttp2_on_begin_frame_callback = { _, hd, user in
        guard let s = owner(user), let hd else { return 0 }
        s.guardian.frameBegins(
            type: hd.pointee.type, length: hd.pointee.length, flags: hd.pointee.flags,
            nowNs: s.clock.nowNs())
        return 0
    }

    /// A HEADERS frame starts a header block.
    static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, user in
        guard let s = owner(user), let frame else { return 0 }
        let id = frame.pointee.hd.stream_id
        s.pending[id] = HTTP2HeaderBlock()
        if s.role == .server && frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST { s.guardian.streamOpened() }
        return 0
    }

    /// One decoded field; past the header list limit only counted (see HTTP2HeaderBlock.append).
    static let onHeader: nghttp2_on_header_callback = { _, frame, name, namelen, value, valuelen, _, user in
        guard let s = owner(user), let frame else { return 0 }
        let id = frame.pointee.hd.stream_id
        let limit = s.role == .server ? s.limits.maxHeaderListSize : 4 * s.limits.maxHeaderListSize
        s.pending[id, default: HTTP2HeaderBlock()].append(
            name: UnsafeRawBufferPointer(start: name, count: namelen),
            value: UnsafeRawBufferPointer(start: value, count: valuelen), limit: limit)
        return 0
    }

    /// A complete frame: header blocks, END_STREAM on DATA, RST_STREAM and GOAWAY are recorded.
    static let onFrameRecv: nghttp2_on_frame_recv_callback = { _, frame, user in
        guard let s = owner(user), let frame else { return 0 }
        let hd = frame.pointee.hd
        let endStream = hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0
        switch UInt32(hd.type) {
        case NGHTTP2_HEADERS.rawValue:
            let block = s.pending.removeValue(forKey: hd.stream_id) ?? HTTP2HeaderBlock()
            let category: HTTP2Event.Category
            switch frame.pointee.headers.cat {
            case NGHTTP2_HCAT_REQUEST: category = .request
            case NGHTTP2_HCAT_RESPONSE: category = .response
            default: category = .trailers
            }
            s.events.append(.headers(stream: hd.stream_id, block: block, category: category, endStream: endStream))
        case NGHTTP2_DATA.rawValue:
            if endStream { s.events.append(.endStream(stream: hd.stream_id)) }
        case NGHTTP2_RST_STREAM.rawValue:
            if s.role == .server { s.guardian.streamReset(answered: s.isLocallyClosed(stream: hd.stream_id)) }
            s.events.append(.reset(stream: hd.stream_id, errorCode: frame.pointee.rst_stream.error_code))
        case NGHTTP2_GOAWAY.rawValue:
            s.events.append(
                .goaway(
                    lastStreamID: frame.pointee.goaway.last_stream_id,
                    errorCode: frame.pointee.goaway.error_code))
        default:
            break
        }
        return 0
    }

    /// DATA payload. Consecutive chunks of one stream within one `receive` are coalesced into one
    /// event (one array), so many 1-byte DATA frames cost one append each, not an event each.
    static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, stream, data, len, user in
        guard let s = owner(user), let data, len > 0 else { return 0 }
        let chunk = UnsafeBufferPointer(start: data, count: len)
        if case .data(stream, var bytes)? = s.events.last {
            s.events.removeLast()
            bytes.append(contentsOf: chunk)
            s.events.append(.data(stream: stream, bytes: bytes))
        } else {
            s.events.append(.data(stream: stream, bytes: Array(chunk)))
        }
        return 0
    }

    /// A frame we sent. Server side, an RST_STREAM that says the peer's stream was malformed
    /// (nghttp2's own checks: PROTOCOL_ERROR, FLOW_CONTROL_ERROR, STREAM_CLOSED, FRAME_SIZE_ERROR
    /// ...) counts toward the rapid-reset budget. Not counted: NO_ERROR, INTERNAL_ERROR (the
    /// upstream failed), REFUSED_STREAM (over the stream limit: nothing was started) and CANCEL
    /// (our own timeouts and cancellations).
    static let onFrameSend: nghttp2_on_frame_send_callback = { _, frame, user in
        guard let s = owner(user), let frame, s.role == .server,
            UInt32(frame.pointee.hd.type) == NGHTTP2_RST_STREAM.rawValue
        else { return 0 }
        switch frame.pointee.rst_stream.error_code {
        case NGHTTP2_NO_ERROR.rawValue, NGHTTP2_INTERNAL_ERROR.rawValue, NGHTTP2_REFUSED_STREAM.rawValue,
            NGHTTP2_CANCEL.rawValue:
            break
        default:
            s.guardian.streamMalformed()
        }
        return 0
    }

    static let onStreamClose: nghttp2_on_stream_close_callback = { _, stream, code, user in
        guard let s = owner(user) else { return 0 }
        s.pending[stream] = nil
        s.outboxes[stream] = nil
        s.events.append(.closed(stream: stream, errorCode: code))
        return 0
    }

    /// The data source of every stream with a body: copies queued bytes into the DATA frame,
    /// DEFERRED when the queue is empty and not ended, EOF (plus trailers, submitted here as the
    /// nghttp2 documentation allows) at the end. Records `dataSent` for flow-control credit.
    static let read: nghttp2_data_source_read_callback = { session, stream, buf, length, flags, _, user in
        guard let s = owner(user), let buf, let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        guard let box = s.outboxes[stream] else {
            // The stream lost its queue (reset by us): end it empty.
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let n = box.take(into: buf, capacity: length)
        if n > 0 { s.events.append(.dataSent(stream: stream, count: n)) }
        return frameEnd(s, box, stream: stream, taken: n, flags: flags)
    }

    /// The data source of a gather-mode session (`HTTP2Session(gather: true)`): like `read`, but
    /// nothing is copied: the frame's bytes are reserved in the outbox and the frame goes out
    /// with NGHTTP2_DATA_FLAG_NO_COPY, so nghttp2 calls `sendData` for it next. No `dataSent`
    /// event (a gather session's handler does not return flow-control credit per frame).
    static let readNoCopy: nghttp2_data_source_read_callback = { session, stream, _, length, flags, _, user in
        guard let s = owner(user), let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        guard let box = s.outboxes[stream] else {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            return 0
        }
        let n = min(length, box.queued)
        if n > 0 {
            box.reserve(n)
            s.sending = box
            flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue
        }
        return frameEnd(s, box, stream: stream, taken: n, flags: flags)
    }

    /// What both data sources answer once `n` bytes of `box` went into the frame (copied or
    /// reserved): EOF (plus trailers, submitted here) when the queue is drained and ended,
    /// DEFERRED when there was nothing to send, else `n`.
    @inline(__always)
    private static func frameEnd(
        _ s: HTTP2Session, _ box: HTTP2Outbox, stream: Int32, taken n: Int,
        flags: UnsafeMutablePointer<UInt32>
    ) -> Int {
        if box.queued == 0 && box.ended {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if let trailers = box.trailers {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                s.submitTrailer(stream: stream, trailers)
            }
            s.outboxes[stream] = nil
            return n
        }
        if n == 0 {
            box.deferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        return n
    }

    /// A NO_COPY DATA frame leaves: its 9-byte header is copied into the write batch of the
    /// running `produce(into:limit:)` and its payload handed over by reference (`HTTP2Outbox.give`).
    /// WOULDBLOCK while the batch is full (or outside `produce(into:limit:)`): nghttp2 keeps the
    /// frame and offers it again on the next call. Gather sessions never pad.
    static let sendData: nghttp2_send_data_callback = { _, frame, header, length, _, user in
        guard let s = owner(user), let frame, let header, let box = s.sending,
            box.reserved == length, frame.pointee.data.padlen == 0
        else { return Int32(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        guard let batch = s.gatherBatch, batch.count < s.gatherLimit else {
            return Int32(NGHTTP2_ERR_WOULDBLOCK.rawValue)
        }
        batch.append(copying: UnsafeRawBufferPointer(start: header, count: 9))
        box.give(to: batch)
        batch.countFrame()
        s.sending = nil
        return 0
    }
}

extension HTTP2Session {
    /// `nghttp2_submit_trailer`: a HEADERS frame with END_STREAM.
    func submitTrailer(stream: Int32, _ trailers: HTTP2HeaderBlock) {
        _ = submitHeaders(trailers) { s, nva, count in nghttp2_submit_trailer(s, stream, nva, count) }
    }
}
