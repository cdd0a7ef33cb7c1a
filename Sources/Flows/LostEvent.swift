/// flow.proto `LostEvent`: events a reader did not get, reported in the stream where the gap is
/// (observer.proto `GetFlowsResponse.lost_events`).
public struct LostEvent: Sendable, Equatable {
    /// flow.proto `LostEventSource`.
    public enum Source: UInt8, Sendable, CaseIterable, ProtoEnum {
        case unknown = 0
        /// Lost in the kernel's perf ring before the agent read them.
        case perfEventRingBuffer = 1
        /// Lost in the observer's queue.
        case observerEventsQueue = 2
        /// Overwritten in the flow ring before this reader read them (Sluice's only source: its
        /// writers never wait and never fail for a full ring).
        case hubbleRingBuffer = 3

        /// The protobuf names, in raw-value order.
        public static let protoNames = [
            "UNKNOWN_LOST_EVENT_SOURCE", "PERF_EVENT_RING_BUFFER", "OBSERVER_EVENTS_QUEUE", "HUBBLE_RING_BUFFER",
        ]
    }

    public var source: Source
    /// `num_events_lost`.
    public var count: UInt64
    /// `cpu` (an `Int32Value`: nil when the source has no CPU, printed as 0 like hubble does).
    public var cpu: Int32?
    /// The response's `node_name` and `time` (when the loss was noticed).
    public var nodeName: String
    public var time: Flow.Timestamp

    public init(
        source: Source, count: UInt64, cpu: Int32? = nil, nodeName: String = "", time: Flow.Timestamp = Flow.Timestamp()
    ) {
        self.source = source
        self.count = count
        self.cpu = cpu
        self.nodeName = nodeName
        self.time = time
    }
}

extension FlowPrinter {
    /// hubble's compact line for lost events: `EVENTS LOST: HUBBLE_RING_BUFFER CPU(0) 42`.
    public static func compact(_ e: LostEvent) -> String {
        "EVENTS LOST: " + e.source.name + " CPU(" + String(e.cpu ?? 0) + ") " + String(e.count)
    }

    /// hubble's `-o dict` block for lost events (empty TIMESTAMP and VERDICT, as hubble prints them).
    public static func dict(_ e: LostEvent, printNodeName: Bool = false) -> String {
        var lines = ["  TIMESTAMP: "]
        if printNodeName { lines.append("       NODE: ") }
        lines += [
            "     SOURCE: " + e.source.name, "       TYPE: EVENTS LOST", "    VERDICT: ",
            "    SUMMARY: CPU(" + String(e.cpu ?? 0) + ") - " + String(e.count),
        ]
        return lines.joined(separator: "\n")
    }

    /// hubble's `-o table` row for lost events (columns of `tableHeader`).
    public static func tableRow(_ e: LostEvent, printNodeName: Bool = false) -> [String] {
        (printNodeName ? ["", ""] : [""]) + [
            e.source.name, "", "EVENTS LOST", "", "CPU(" + String(e.cpu ?? 0) + ") - " + String(e.count),
        ]
    }

    /// One line of `-o json`: a `GetFlowsResponse` carrying `lost_events` (protojson: `num_events_lost` is a
    /// uint64, so a string; `cpu` only when known).
    public static func json(_ e: LostEvent) -> String {
        var lost = JSONText()
        lost.raw("source", JSONText.quoted(e.source.name))
        lost.int64("num_events_lost", e.count)
        if let cpu = e.cpu { lost.raw("cpu", String(cpu)) }  // an Int32Value is written as its value
        var response = JSONText()
        response.raw("lost_events", lost.finished)
        response.string("node_name", e.nodeName)
        response.raw("time", JSONText.quoted(CivilTime.rfc3339(e.time)))
        return response.finished
    }
}
