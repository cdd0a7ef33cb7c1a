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
}

extension FlowListener {
    /// Default: lost events are not interesting to this listener.
    public func observeLost(_ event: LostEvent) {}
}
