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
        queue(query.framed(flow, shared: encoding, index: source.history.seenFlows))
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
        if masked {
            if let framed = encoding.framed(record: raw, mask: query.mask) {
                queue(framed)
            } else {
                queue(query.framed(encoding.decoded(raw, index: index)))
            }
        } else if let framed = encoding.framedInPlace(record: raw, index: index) {
            queue(framed)
        } else {
            queue(query.framed(encoding.decoded(raw, index: index), shared: encoding, index: index))
        }
        sent += 1
    }

    // MARK: the batch of responses

    /// Framed responses queued since they were last handed to the connection: many flows in one
    /// array (one allocation, one outbox chunk and one iovec per `batchBytes` instead of one per
    /// flow). Handed on and written out when it reaches `batchBytes`, handed on before anything
    /// else is sent on the call (lost events, trailers) and when the connection flushes
    /// (`GRPCConnection.flush`, at the end of the loop turn that queued them: no later than one
    /// flow per array was).
    private var batch: [UInt8] = []
    /// Bytes a batch reaches before it is handed on and written (`bench/micro.sh
    /// transport-batching`: 128 KiB written per batch cost ~10 % less per message on the
    /// loopback than 64 KiB batches written once per poll; 32 KiB per batch cost more). 256 KiB:
    /// each write wakes the client, which on a shared core preempts the observer (one switch
    /// out and back per write or two; s22-obs counted ~230 a second at 128 KiB, ~100-150 at 256);
    /// one batch and its DATA frames' headers stay under `GRPCConnection.writeBatch`, one sendmsg.
    static let batchBytes = 256 * 1024

    /// Bytes queued here, not yet handed to the connection.
    var batchedBytes: Int { batch.count }

    private func queue(_ framed: UnsafeRawBufferPointer) {
        if batch.isEmpty {
            if batch.capacity == 0 { batch = spareArray() }
            connection.scheduleFlush()
        }
        batch.append(contentsOf: framed.assumingMemoryBound(to: UInt8.self))
        if batch.count >= Self.batchBytes {
            handOn()
            // Written now, not at the end of the loop turn: a ring poll's burst (~1.2 MB at
            // ~125k requests/s) then goes out batch by batch through the same few arrays, which
            // stay in cache for the kernel's copy, instead of being built whole first.
            connection.flush()
        }
    }

    private func queue(_ framed: [UInt8]) {
        framed.withUnsafeBytes { queue($0) }
    }

    /// Hands the batch to the connection (it goes out with the connection's next flush).
    func handOn() {
        guard !batch.isEmpty else { return }
        var full: [UInt8] = []
        swap(&full, &batch)
        // Kept (shared with the connection until it has written it) to be filled again.
        handed[handedOn % handed.count] = full
        handedOn &+= 1
        connection.sendFramed(call, full)
    }

    /// The batch arrays handed on since the connection last wrote everything, oldest first from
    /// `handedOn`: each is filled again once the connection has written and dropped it (a fresh
    /// 64 KiB allocation per batch made malloc give the heap's top back and fault the pages in
    /// again: ~6 % of the follow profile). As many as can be in flight: the queue bound plus one
    /// write batch, in `batchBytes` arrays.
    private var handed = [[UInt8]](repeating: [], count: (maxQueuedBytes + GRPCConnection.writeBatch) / batchBytes + 2)
    private var handedOn = 0
    /// Batches handed on so far (a test counts them).
    var batchesHandedOn: Int { handedOn }
    /// Arrays the connection has written (it holds them no more), kept to be filled again: at most
    /// `freeLimit`. Once the connection has written everything (`written`), the handed-on arrays
    /// go here or are freed, so a stream keeps a few arrays, not one per batch of its busiest burst.
    private var free: [[UInt8]] = []
    static let freeLimit = 2

    /// Bytes of batch arrays this stream holds now (its batch, those handed on, the free ones).
    var keptBytes: Int {
        batch.capacity + handed.reduce(0) { $0 + $1.capacity } + free.reduce(0) { $0 + $1.capacity }
    }

    /// An empty array with room for a batch: a free one, else the oldest one handed on, in place
    /// when the connection no longer holds it (emptying a shared one allocates a new buffer instead).
    private func spareArray() -> [UInt8] {
        var array: [UInt8] = []
        if let last = free.popLast() {
            array = last
        } else {
            swap(&array, &handed[handedOn % handed.count])
        }
        array.removeAll(keepingCapacity: true)
        if array.capacity < Self.batchBytes { array.reserveCapacity(Self.batchBytes + 4096) }
        return array
    }

    /// The connection has written every byte of this call (nothing of it queued): the arrays
    /// handed on are its no more, `freeLimit` of them are kept and the others freed.
    func written() {
        guard handedOn != writtenAt else { return }
        writtenAt = handedOn
        for i in handed.indices where handed[i].capacity > 0 {
            var array: [UInt8] = []
            swap(&array, &handed[i])
            if free.count < Self.freeLimit { free.append(array) }
        }
    }
    private var writtenAt = 0

    /// Whether a flow may be queued now; a full queue counts it as dropped instead. A count of
    /// dropped flows goes out first.
    private func admit() -> Bool {
        // The session's bytes are asked when a batch starts: while one fills, nothing reaches the
        // session or leaves it (every send and every flush hands the batch on first).
        if batch.isEmpty { sessionBytes = sessionQueued() }
        // A full queue is first written out (a burst of one ring poll can exceed the bound while
        // the socket still has room); only what the socket and the window do not take is dropped.
        var queued = sessionBytes + batch.count
        if queued >= Self.maxQueuedBytes, dropped == 0 {
            handOn()
            connection.flush()
            // The write failed and closed the connection (which ended this call and may be gone).
            guard !call.done else { return false }
            sessionBytes = sessionQueued()
            queued = sessionBytes + batch.count
        }
        guard queued < Self.maxQueuedBytes else {
            dropped += 1
            return false
        }
        if dropped > 0 {
            handOn()
            connection.send(call, GetFlowsResponse.lost(lost(.observerEventsQueue, dropped)))
            dropped = 0
            sessionBytes = sessionQueued()
        }
        return true
    }

    /// `sessionQueued()` as asked when the batch being filled started.
    private var sessionBytes = 0

    /// Bytes of this call in the connection's session, asked per flow without the retain and
    /// release a call through the `unowned(unsafe)` reference makes (read after `call.done`).
    private func sessionQueued() -> Int {
        Unmanaged.passUnretained(connection)._withUnsafeGuaranteedRef { $0.sessionQueued(call) }
    }

    /// The queue has room again: the count of dropped flows goes out.
    func drained() {
        guard dropped > 0, !call.done, connection.queued(call) < Self.maxQueuedBytes / 2 else { return }
        handOn()
        connection.send(call, GetFlowsResponse.lost(lost(.observerEventsQueue, dropped)))
        dropped = 0
    }

    func observeLost(_ event: LostEvent) {
        guard !call.done else { return }
        guard connection.queued(call) < Self.maxQueuedBytes else {
            dropped += event.count
            return
        }
        handOn()
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
    /// `recordEncoder` unretained, and its owner's identity (the encoder keeps its owner alive).
    private var recordEncoderRef: Unmanaged<FlowRecordProto>?
    private var encoderOwner: ObjectIdentifier?
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
        framedInPlace(record: raw, index: index).map { [UInt8]($0.assumingMemoryBound(to: UInt8.self)) }
    }

    /// `framed(record:index:)` read in place, in the record encoder's buffer (no array per
    /// flow): valid until the next record is encoded.
    func framedInPlace(record raw: FlowRecordRef, index: UInt64) -> UnsafeRawBufferPointer? {
        if index == inPlaceIndex { return inPlace }
        // The encoder unretained (`recordEncoder` keeps it): no retain and release per flow.
        let encoder: Unmanaged<FlowRecordProto>
        if let recordEncoderRef, encoderOwner == ObjectIdentifier(raw.context) {
            encoder = recordEncoderRef
        } else {
            encoder = Unmanaged.passUnretained(self.encoder(raw.context))
        }
        let framed = encoder._withUnsafeGuaranteedRef {
            $0.framedInPlace(raw.pointer, seq: raw.seq, wallOffsetNs: raw.wallOffsetNs)
        }
        guard let framed else {
            fallbacks += 1
            return nil
        }
        inPlaceIndex = index
        inPlace = framed
        encoded += 1
        return framed
    }

    /// The flow `inPlace` holds (its bytes are in the current record encoder's buffer).
    private var inPlaceIndex: UInt64 = .max
    private var inPlace = UnsafeRawBufferPointer(start: nil, count: 0)

    /// The framed response of `raw` with `mask` applied (one stream's own); nil as above.
    func framed(record raw: FlowRecordRef, mask: FlowProtoMask) -> [UInt8]? {
        // Written in the buffer `inPlace` points into.
        inPlaceIndex = .max
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
        recordEncoderRef = Unmanaged.passUnretained(made)
        encoderOwner = ObjectIdentifier(context)
        inPlaceIndex = .max
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
