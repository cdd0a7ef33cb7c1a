import Flows
import HubbleProto
import SluiceIO

/// A `GetFlows` call with `follow`: registered with the observer as a `FlowListener`, it sends
/// each new flow the query wants. A client that reads slower than flows arrive is bounded: once
/// `maxQueuedBytes` wait in its stream, further flows are counted instead of queued, and the
/// count goes out as a `lost_events` response (source OBSERVER_EVENTS_QUEUE) when the queue
/// has drained below the bound; flows the ring lost before the observer read them are passed on
/// (source HUBBLE_RING_BUFFER). Loop thread only.
final class FollowStream: FlowListener {
    /// Bytes a follow stream may have queued (in nghttp2, not yet in DATA frames).
    static let maxQueuedBytes = 1 << 20

    let query: FlowQuery
    /// Unowned without the runtime check (read 2-3 times per flow): every use follows a
    /// `call.done` check, and the connection ends the call (`GRPCConnection.end`) before it goes.
    unowned(unsafe) let connection: GRPCConnection
    let call: GRPCConnection.Call
    let encoding: SharedFlowEncoding
    weak var observer: Observer?
    /// The same observer for the per-flow path, which only the observer itself calls (it is alive
    /// there by construction): no weak load, retain and side-table release per flow.
    private unowned(unsafe) let source: Observer
    /// The query's bounds, filters and mask, read once here (each flow reads plain fields).
    private let until: Flow.Timestamp?
    private let since: Flow.Timestamp?
    private let hasFilters: Bool
    private let masked: Bool
    private(set) var dropped: UInt64 = 0
    private(set) var sent: UInt64 = 0

    init(
        query: FlowQuery, connection: GRPCConnection, call: GRPCConnection.Call, encoding: SharedFlowEncoding,
        observer: Observer
    ) {
        self.query = query
        self.connection = connection
        self.call = call
        self.encoding = encoding
        self.observer = observer
        source = observer
        until = query.request.until
        since = query.request.since
        hasFilters = query.hasFilters
        masked = query.mask.isActive
    }

    var nodeName: String { observer?.nodeName ?? "" }

    func observe(_ flow: Flow) {
        guard !call.done else { return }
        if let until, until < flow.time {
            connection.finish(call, .ok, "")
            return
        }
        guard query.wants(flow) else { return }
        guard admit() else { return }
        connection.sendFramed(call, query.framed(flow, shared: encoding, index: source.history.seenFlows))
        sent += 1
    }

    /// Records, not flows: the message is encoded from the record (`FlowRecordProto`), and the
    /// record is decoded only when a filter needs the flow or the encoder leaves its kind to the
    /// decoded path (DNS); the decoded flow is shared by the follow streams like the encoding.
    var observesRecords: Bool { true }

    func observe(record raw: FlowRecordRef) {
        guard !call.done else { return }
        let time = raw.time
        if let until, until < time {
            connection.finish(call, .ok, "")
            return
        }
        if let since, time < since { return }
        let index = source.history.seenFlows
        if hasFilters {
            // Verdict and direction filters read the record; others need the decoded flow.
            if let pass = query.passes(record: raw.pointer) {
                guard pass else { return }
            } else {
                guard query.wants(encoding.decoded(raw, index: index)) else { return }
            }
        }
        guard admit() else { return }
        let framed =
            masked
            ? encoding.framed(record: raw, mask: query.mask) : encoding.framed(record: raw, index: index)
        if let framed {
            connection.sendFramed(call, framed)
        } else {
            connection.sendFramed(
                call, query.framed(encoding.decoded(raw, index: index), shared: encoding, index: index))
        }
        sent += 1
    }

    /// Whether a flow may be queued now; a full queue counts it as dropped instead. A count of
    /// dropped flows goes out first.
    private func admit() -> Bool {
        // A full queue is first written out (a burst of one ring poll can exceed the bound while
        // the socket still has room); only what the socket and the window do not take is dropped.
        var queued = connection.queued(call)
        if queued >= Self.maxQueuedBytes, dropped == 0 {
            connection.flush()
            // The write failed and closed the connection (which ended this call and may be gone).
            guard !call.done else { return false }
            queued = connection.queued(call)
        }
        guard queued < Self.maxQueuedBytes else {
            dropped += 1
            return false
        }
        if dropped > 0 {
            connection.send(call, GetFlowsResponse.lost(lost(.observerEventsQueue, dropped)))
            dropped = 0
        }
        return true
    }

    /// The queue has room again: the count of dropped flows goes out.
    func drained() {
        guard dropped > 0, !call.done, connection.queued(call) < Self.maxQueuedBytes / 2 else { return }
        connection.send(call, GetFlowsResponse.lost(lost(.observerEventsQueue, dropped)))
        dropped = 0
    }

    func observeLost(_ event: LostEvent) {
        guard !call.done else { return }
        guard connection.queued(call) < Self.maxQueuedBytes else {
            dropped += event.count
            return
        }
        connection.send(call, GetFlowsResponse.lost(event))
    }

    private func lost(_ source: LostEvent.Source, _ count: UInt64) -> LostEvent {
        LostEvent(
            source: source, count: count, nodeName: nodeName,
            time: Flow.Timestamp(nanosecondsSinceEpoch: Int64(bitPattern: SystemClock.realtimeNs())))
    }
}

/// The framed `GetFlowsResponse` of the flow the observer is handing out now, encoded by the
/// first follow stream that sends it and reused by the others (N follow clients, one encoding).
/// Keyed by the history's `seenFlows` at the time (it grows by one per flow). Loop thread only.
final class SharedFlowEncoding {
    private var index: UInt64 = .max
    private var bytes: [UInt8] = []
    /// The endpoints' messages, encoded once per endpoint.
    let endpoints = FlowProto.EndpointCache()
    /// Encodings made (a test counts them).
    private(set) var encoded = 0
    /// The record encoder of the current decode context (its endpoint and policy bytes), and
    /// records the decoded path had to take (DNS: a test counts them).
    private var recordEncoder: FlowRecordProto?
    private(set) var fallbacks = 0
    /// The flow decoded for `decodedIndex` (by a filter or a kind the encoder leaves out).
    private var decodedIndex: UInt64 = .max
    private var decodedFlow: Flow?
    /// Records decoded (a test counts them).
    private(set) var decodes = 0

    func framed(_ flow: Flow, index: UInt64) -> [UInt8] {
        if index != self.index {
            self.index = index
            bytes = GetFlowsResponse.framedFlow(flow, cache: endpoints)
            encoded += 1
        }
        return bytes
    }

    /// The framed response of record `raw` (flow number `index`), encoded from the record once for
    /// every unmasked stream; nil when the record's kind takes the decoded path.
    func framed(record raw: FlowRecordRef, index: UInt64) -> [UInt8]? {
        if index == self.index { return bytes }
        guard let framed = encoder(raw.context).framed(raw, seq: raw.seq, wallOffsetNs: raw.wallOffsetNs) else {
            fallbacks += 1
            return nil
        }
        self.index = index
        bytes = framed
        encoded += 1
        return framed
    }

    /// The framed response of `raw` with `mask` applied (one stream's own); nil as above.
    func framed(record raw: FlowRecordRef, mask: FlowProtoMask) -> [UInt8]? {
        let framed = encoder(raw.context).framed(raw, seq: raw.seq, wallOffsetNs: raw.wallOffsetNs, mask: mask)
        if framed == nil { fallbacks += 1 }
        return framed
    }

    /// `raw` decoded, once for all the streams that need flow number `index`.
    func decoded(_ raw: FlowRecordRef, index: UInt64) -> Flow {
        if index == decodedIndex, let decodedFlow { return decodedFlow }
        let flow = raw.decode()
        decodedIndex = index
        decodedFlow = flow
        decodes += 1
        return flow
    }

    private func encoder(_ context: FlowDecodeContext) -> FlowRecordProto {
        // By identity: no cast of the encoder's owner per record.
        if let recordEncoder, recordEncoder.owner === context { return recordEncoder }
        let made = FlowRecordProto(context: context)
        recordEncoder = made
        return made
    }
}

extension FlowRecordProto {
    /// An encoder for the records read with `context` (its directory, uuid seed and node name).
    convenience init(context: FlowDecodeContext) {
        self.init(directory: context.directory, seed: context.seed, nodeName: context.nodeName, owner: context)
    }

    /// The decode context this encoder was made for.
    var context: FlowDecodeContext? { owner as? FlowDecodeContext }

    /// The framed response of `raw`'s record (`framed(_:seq:wallOffsetNs:mask:)`).
    func framed(_ raw: FlowRecordRef, seq: UInt64, wallOffsetNs: Int64, mask: FlowProtoMask? = nil) -> [UInt8]? {
        framed(raw.pointer, seq: seq, wallOffsetNs: wallOffsetNs, mask: mask)
    }
}
