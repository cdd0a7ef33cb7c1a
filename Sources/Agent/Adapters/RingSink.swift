import CSluiceShared
import Datapath
import Proxy

/// The pinned flow ring as the proxy's `FlowSink`: the adapter through which the data plane
/// writes flow records in place into the ring `sluice observe` reads. The proxy fills records
/// only through `FlowRecordWriter`, which writes every field a reader reads, so the slot is not
/// zeroed first (`FlowRing.appendWritten`).
final class RingSink: FlowSink {
    let ring: FlowRing
    init(_ ring: FlowRing) { self.ring = ring }
    @inline(__always) func append(_ fill: (UnsafeMutablePointer<sluice_flow>) -> Void) {
        ring.appendWritten(fill)
    }
}
