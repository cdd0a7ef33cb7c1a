import Flows

/// What the observer's consumers implement to see every flow as it is decoded: the gRPC follow
/// streams, the metrics handlers, the service map. Register with `Observer.addListener`.
///
/// Called on the observer's event-loop thread (`Observer.loop`), in ring order, after the flow was
/// added to `Observer.history`; a listener must not block (it may schedule work on the loop).
public protocol FlowListener: AnyObject {
    /// One flow, fully decoded (endpoints named, `node_name`, `uuid`, `emitter` set).
    func observe(_ flow: Flow)
    /// `count` records were overwritten in the flow ring before the observer read them.
    func observeLost(_ event: LostEvent)
    /// Whether this listener takes records (`observe(record:)`) rather than decoded flows: the
    /// observer decodes a record only when some listener wants the `Flow` (and then once for all).
    /// Read once, when the listener is added (`Observer.addListener`).
    var observesRecords: Bool { get }
    /// One record read from the ring, in place in the history's scratch record (called instead of
    /// `observe(_:)` when `observesRecords`). `record` is valid during the call only.
    func observe(record: FlowRecordRef)
    /// The poll that handed on records has handed on its last (work a listener saves up per
    /// record, such as the metrics' counter effects, is done here once per poll).
    func pollEnded()
}

extension FlowListener {
    /// Default: decoded flows.
    public var observesRecords: Bool { false }

    /// Default: the decoded flow.
    public func observe(record: FlowRecordRef) { observe(record.decode()) }

    /// Default: lost events are not interesting to this listener.
    public func observeLost(_ event: LostEvent) {}

    /// Default: nothing saved up.
    public func pollEnded() {}
}
