import Flows
import Glibc
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `TLSFlowRecorder`: the HTTP-shaped TLS records (protocol "TLS", url `https://<SNI>`), the
/// L3/L4 drop for a peer no rule admits, the ERROR record of a failed splice.
final class TLSFlowRecorderTests: XCTestCase {
    private let addresses = ConnectionAddresses(
        clientAddress: UInt32(bigEndian: 0x0A00_0007), clientPort: 40000,
        originalDestinationAddress: UInt32(bigEndian: 0x0A00_0003), originalDestinationPort: 8443)

    func testRecords() throws {
        let snapshot = try TLSTestWorld.snapshot(serverNames: ["a.example"])
        let steer = TLSTestWorld.egressSteer(snapshot)
        let sink = CollectingSink()
        let recorder = TLSFlowRecorder(flows: sink, addresses: addresses, steer: steer)
        recorder.decided(
            TLSDecision.evaluate(serverName: "b.example", steer: steer, snapshot: snapshot, port: 8443),
            serverName: "b.example")
        recorder.failed(PeerClose(side: .upstream, errno: ECONNRESET), serverName: "a.example")
        XCTAssertEqual(sink.flows.map(\.verdict), [.dropped, .error])
        XCTAssertEqual(sink.flows.map { $0.http?.url }, ["https://b.example", "https://a.example"])
        XCTAssertEqual(sink.flows.map { $0.http?.method }, ["", ""])
        XCTAssertEqual(sink.flows.first?.l7?.type, .request)
        XCTAssertEqual(sink.flows.first?.source?.id, TestPolicy.clientID)
    }

    func testPeerNotAllowedIsAnL3L4Drop() throws {
        let snapshot = try TLSTestWorld.snapshot(serverNames: ["a.example"])
        var steer = TLSTestWorld.egressSteer(snapshot)
        steer.destinationIdentity = 2  // world: no rule admits it
        let sink = CollectingSink()
        TLSFlowRecorder(flows: sink, addresses: addresses, steer: steer).decided(
            TLSDecision.evaluate(serverName: "a.example", steer: steer, snapshot: snapshot, port: 8443),
            serverName: "a.example")
        XCTAssertEqual(sink.flows.count, 1)
        XCTAssertNil(sink.flows.first?.l7)
        XCTAssertEqual(sink.flows.first?.verdict, .dropped)
    }

    func testWhilePausedNothingIsWritten() throws {
        let snapshot = try TLSTestWorld.snapshot(serverNames: ["a.example"])
        let steer = TLSTestWorld.egressSteer(snapshot)
        let sink = CollectingSink()
        let recording = FlowRecording(paused: true)
        let recorder = TLSFlowRecorder(flows: sink, recording: recording, addresses: addresses, steer: steer)
        let verdict = TLSDecision.evaluate(serverName: "b.example", steer: steer, snapshot: snapshot, port: 8443)
        recorder.decided(verdict, serverName: "b.example")
        recorder.failed(PeerClose(side: .upstream, errno: ECONNRESET), serverName: "a.example")
        XCTAssertEqual(sink.flows.count, 0)
        recording.resume()
        recorder.decided(verdict, serverName: "b.example")
        XCTAssertEqual(sink.flows.map(\.verdict), [.dropped])
    }
}
