import Flows
import SluiceIO

/// Writes the flow records of TLS connections judged by `serverNames`. Hubble's flow.proto has
/// no TLS record, so Sluice writes an L7 HTTP-shaped record (docs/observability.md "TLS SNI
/// records"): `l7.type` REQUEST, `http.protocol` "TLS", no method, `http.url` `https://<SNI>`
/// (`https://` alone when the connection sent no SNI or was not TLS), with the deciding side's
/// policy and reason as on HTTP requests. One record per side that decided: FORWARDED when the
/// connection is spliced, DROPPED when it is reset for its SNI; a side that admits the peer not
/// at all writes the L3/L4 drop instead. A spliced connection whose upstream connect fails gets
/// an ERROR record naming the upstream's errno. Nothing while recording is paused
/// (`FlowRecording`). Loop-thread only.
struct TLSFlowRecorder {
    private let sink: FlowSink?
    private let recording: FlowRecording
    let common: FlowCommon

    init(
        flows: FlowSink?, recording: FlowRecording = FlowRecording(), addresses: ConnectionAddresses,
        steer: SteerInfo?
    ) {
        sink = flows
        self.recording = recording
        common = HTTPFlowRecorder.common(addresses: addresses, steer: steer)
    }

    /// The sink, or nil with flows off or paused.
    var flows: FlowSink? { recording.isOn ? sink : nil }

    /// The records of one decision on the connection whose ClientHello named `serverName`.
    func decided(_ verdict: HTTPVerdict, serverName: String?) {
        guard let flows else { return }
        if verdict.unsteered {
            var c = common
            c.timeNs = SystemClock.monotonicNs()
            c.direction = .unknown
            c.tcpFlags = [.syn]
            flows.appendPolicyDrop(c)
            return
        }
        for (direction, side) in [(Flow.TrafficDirection.egress, verdict.egress), (.ingress, verdict.ingress)] {
            guard let side else { continue }
            var c = common
            c.timeNs = SystemClock.monotonicNs()
            c.direction = direction
            if side.reason == .peerNotAllowed {
                c.tcpFlags = [.syn]
                flows.appendPolicyDrop(c)
                continue
            }
            c.verdict = side.allowed ? .forwarded : .dropped
            write(c, serverName: serverName, policyID: side.policyRef, detail: side.recorded, failure: nil)
        }
    }

    /// The spliced connection's upstream failed (`failure`: side and errno): an ERROR record.
    func failed(_ failure: PeerClose, serverName: String?) {
        guard flows != nil else { return }
        var c = common
        c.timeNs = SystemClock.monotonicNs()
        c.verdict = .error
        write(c, serverName: serverName, policyID: 0, detail: nil, failure: failure)
    }

    private func write(
        _ c: FlowCommon, serverName: String?, policyID: UInt32, detail: Flow.L7Verdict?, failure: PeerClose?
    ) {
        guard let flows else { return }
        var name = serverName ?? ""
        name.withUTF8 { authority in
            let host = UnsafeRawBufferPointer(authority)
            flows.append { rec in
                FlowRecordWriter.writeHTTP(
                    rec, common: c, l7Type: .request, method: UnsafeRawBufferPointer(start: nil, count: 0),
                    scheme: "https", authority: host, path: UnsafeRawBufferPointer(start: nil, count: 0), code: 0,
                    latencyNs: 0, proto: .tls, policyID: policyID, verdict: detail)
                if let failure {
                    FlowRecordWriter.setHTTPConnectionError(rec, side: failure.side.rawValue, errno: failure.errno)
                }
            }
        }
    }
}
