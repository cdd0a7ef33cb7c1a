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
    unowned let connection: GRPCConnection
    let call: GRPCConnection.Call
    let encoding: SharedFlowEncoding
    weak var observer: Observer?
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
    }

    var nodeName: String { observer?.nodeName ?? "" }

    func observe(_ flow: Flow) {
        guard !call.done else { return }
        if let until = query.request.until, until < flow.time {
            connection.finish(call, .ok, "")
            return
        }
        guard query.wants(flow) else { return }
        guard connection.queued(call) < Self.maxQueuedBytes else {
            dropped += 1
            return
        }
        if dropped > 0 {
            connection.send(call, GetFlowsResponse.lost(lost(.observerEventsQueue, dropped)))
            dropped = 0
        }
        connection.sendFramed(call, query.framed(flow, shared: encoding, index: observer?.history.seenFlows ?? 0))
        sent += 1
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

    func framed(_ flow: Flow, index: UInt64) -> [UInt8] {
        if index != self.index {
            self.index = index
            bytes = GetFlowsResponse.framedFlow(flow, cache: endpoints)
            encoded += 1
        }
        return bytes
    }
}
