import CSluiceShared
import Flows
import Policy
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `HTTPFlowRecorder` fed with `HTTPVerdict`s of HTTP/1 and HTTP/2 requests: the records it
/// writes (raw `sluice_flow` bytes and their Hubble decoding), with no socket and no loop.
final class HTTPFlowRecorderTests: XCTestCase {
    /// Keeps every record raw.
    private final class RecordSink: FlowSink {
        var records: [sluice_flow] = []
        func append(_ fill: (UnsafeMutablePointer<sluice_flow>) -> Void) {
            var rec = sluice_flow()
            fill(&rec)
            records.append(rec)
        }
    }

    private let port: UInt16 = 8080
    private let addresses = ConnectionAddresses(
        clientAddress: UInt32(bigEndian: 0x0A00_0007), clientPort: 40000,
        originalDestinationAddress: UInt32(bigEndian: 0x0A00_0003),
        originalDestinationPort: 8080)

    private func bothSides(
        egress: [String] = ["{}"], ingress: [String] = ["{method: GET, path: \"/allowed.*\"}"],
        ingressPeer: String = "app: client"
    ) throws -> PolicySnapshot {
        try TestPolicy.snapshot(
            TestPolicy.bothSidesYAML(
                port: port, egress: egress, ingress: ingress,
                ingressPeer: ingressPeer))
    }

    /// One request through the recorder as HTTP/1 or HTTP/2: begin, decide, then the response
    /// `code` (0: none). Returns the raw records and their flows without the times.
    private func record(
        http2: Bool, _ snapshot: PolicySnapshot, steer: SteerInfo?, _ method: String,
        _ path: String, headers: [(String, String)] = [], code: UInt16
    )
        -> (raw: [sluice_flow], flows: [Flow])
    {
        let sink = RecordSink()
        let recorder: HTTPFlowRecorder
        if http2 {
            let common = HTTPFlowRecorder.common(addresses: addresses, steer: steer)
            recorder = HTTPFlowRecorder(flows: sink, common: common, proto: .http2)
            var edits = HTTPHeaderEdits()
            let verdict = HTTPRequestFixture.http2(method, path, headers: headers) { view -> HTTPVerdict in
                recorder.beginRequest(view)
                return HTTPVerdict.evaluate(view, steer: steer, snapshot: snapshot, port: port, edits: &edits)
            }
            recorder.decided(verdict)
        } else {
            recorder = HTTPFlowRecorder(flows: sink, addresses: addresses, steer: steer)
            var edits = HTTPHeaderEdits()
            let verdict = HTTPRequestFixture.http1(method, path, headers: headers) { view -> HTTPVerdict in
                recorder.beginRequest(view: view, versionMinor: 1)
                return HTTPVerdict.evaluate(view, steer: steer, snapshot: snapshot, port: port, edits: &edits)
            }
            recorder.decided(verdict)
        }
        if code != 0 { recorder.response(code: code) }
        let directory = TestPolicy.directory(snapshot)
        let flows = sink.records.map { rec -> Flow in
            var f = Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: 0)
            f.time = Flow.Timestamp()
            f.l7?.latencyNs = 0
            return f
        }
        return (sink.records, flows)
    }

    /// The flows of one request as HTTP/1 and as HTTP/2; asserts they differ only in `protocol`.
    private func recordBoth(
        _ snapshot: PolicySnapshot, steer: SteerInfo?, _ method: String, _ path: String,
        headers: [(String, String)] = [], code: UInt16, file: StaticString = #filePath,
        line: UInt = #line
    ) -> (raw: [sluice_flow], flows: [Flow]) {
        let h1 = record(http2: false, snapshot, steer: steer, method, path, headers: headers, code: code)
        let h2 = record(http2: true, snapshot, steer: steer, method, path, headers: headers, code: code)
        let h2AsH1 = h2.flows.map { flow -> Flow in
            var f = flow
            if var http = f.l7?.http {
                XCTAssertEqual(http.protocol, "HTTP/2", file: file, line: line)
                http.protocol = "HTTP/1.1"
                f.l7?.record = .http(http)
            }
            return f
        }
        XCTAssertEqual(h1.flows, h2AsH1, "HTTP/1 and HTTP/2 record alike", file: file, line: line)
        return h1
    }

    private func policy(_ name: String) -> [Flow.Policy] {
        [Flow.Policy(name: name, namespace: "default", kind: "CiliumNetworkPolicy")]
    }

    private func line(_ f: Flow) -> String {
        "\(f.l7?.type ?? .unknown) \(f.trafficDirection) \(f.verdict) \(f.http?.code ?? 0)"
            + " \(f.l7Verdict.map { "\($0.reason) [\($0.headerActions)]" } ?? "-")"
    }

    func testAnAllowedRequestGetsARequestAndAResponseFlowPerSideWithItsVerdict() throws {
        let snapshot = try bothSides()
        let steer = TestPolicy.bothSidesSteer(snapshot)
        let (raw, flows) = recordBoth(snapshot, steer: steer, "GET", "/allowed/x", code: 200)
        XCTAssertEqual(
            flows.map(line),
            [
                "request egress forwarded 0 rule-matched []", "request ingress forwarded 0 rule-matched []",
                "response ingress forwarded 200 -", "response egress forwarded 200 -",
            ])
        guard flows.count == 4 else { return }
        XCTAssertEqual(flows[0].egressAllowedBy, policy("client-egress"))
        XCTAssertEqual(flows[1].ingressAllowedBy, policy("backend-ingress"))
        XCTAssertTrue(flows[2...].allSatisfy { $0.egressAllowedBy.isEmpty && $0.ingressAllowedBy.isEmpty })
        XCTAssertEqual(flows[0].http?.url, "http://backend/allowed/x")
        XCTAssertEqual(flows[0].http?.method, "GET")
        XCTAssertEqual(flows[0].http?.protocol, "HTTP/1.1")
        XCTAssertEqual(flows[0].source?.id, TestPolicy.clientID)
        XCTAssertEqual(flows[2].source?.id, TestPolicy.backendID, "responses swap source and destination")
        XCTAssertEqual(raw[0].l7.http.reason, UInt8(SLUICE_L7_REASON_RULE_MATCHED.rawValue))
        XCTAssertEqual(raw[0].l7.http.policy_id, snapshot.policies.first { $0.name == "client-egress" }?.ref)
        XCTAssertEqual(raw[2].l7.http.reason, 0, "responses carry no verdict detail")
    }

    func testADenialIsTheDroppedRequestFlowOfTheSideThatDenied() throws {
        let snapshot = try bothSides()
        let (_, flows) = recordBoth(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "POST", "/p", code: 403)
        XCTAssertEqual(
            flows.map(line),
            [
                "request egress forwarded 0 rule-matched []", "request ingress dropped 0 no-rule-matched []",
                "response ingress forwarded 403 -", "response egress forwarded 403 -",
            ])
        guard flows.count == 4 else { return }
        XCTAssertEqual(flows[1].ingressDeniedBy, policy("backend-ingress"))
        XCTAssertEqual(flows[1].dropReason, 0, "an L7 denial has no drop reason, as in Cilium")
    }

    func testAnEgressDenialWritesOneSide() throws {
        let snapshot = try bothSides(egress: ["{method: GET, path: \"/only\"}"])
        let (_, flows) = recordBoth(snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed", code: 403)
        XCTAssertEqual(
            flows.map(line),
            [
                "request egress dropped 0 no-rule-matched []", "response egress forwarded 403 -",
            ])
        guard flows.count == 2 else { return }
        XCTAssertEqual(flows[0].egressDeniedBy, policy("client-egress"))
    }

    func testHeaderActionsReachTheRequestFlow() throws {
        let snapshot = try TestPolicy.snapshot(
            TestPolicy.yaml(
                port: port,
                rules: [
                    "{method: GET, headerMatches: [{name: X-Token, value: abc, mismatch: REPLACE}, {name: X-Trace, mismatch: LOG}]}"
                ]))
        let (raw, flows) = recordBoth(
            snapshot, steer: TestPolicy.ingressSteer(snapshot), "GET", "/",
            headers: [("X-Token", "xyz")], code: 200)
        XCTAssertEqual(
            flows.map(line),
            [
                "request ingress forwarded 0 rule-matched [LOG,REPLACE]", "response ingress forwarded 200 -",
            ])
        guard flows.count == 2 else { return }
        XCTAssertEqual(
            raw[0].l7.http.header_actions,
            UInt8(SLUICE_HEADER_ACTION_LOG | SLUICE_HEADER_ACTION_REPLACE))
        XCTAssertEqual(flows[0].ingressAllowedBy, policy("backend-http"))
    }

    func testAPeerNoRuleAdmitsIsAnL3L4DropWithoutResponse() throws {
        let snapshot = try bothSides(ingressPeer: "app: nobody")
        let (_, flows) = recordBoth(
            snapshot, steer: TestPolicy.bothSidesSteer(snapshot), "GET", "/allowed",
            code: 200)
        XCTAssertEqual(flows.count, 2, "the egress request flow and the ingress drop; no response after a reset")
        guard flows.count == 2 else { return }
        XCTAssertEqual(line(flows[0]), "request egress forwarded 0 rule-matched []")
        XCTAssertEqual(flows[1].type, .l3L4)
        XCTAssertEqual(flows[1].verdict, .dropped)
        XCTAssertEqual(flows[1].trafficDirection, .ingress)
        XCTAssertEqual(flows[1].dropReasonDesc, .policyDenied)
        XCTAssertNil(flows[1].l7Verdict)
    }

    func testAnUnsteeredRequestIsAnL3L4DropOfUnknownDirection() throws {
        let snapshot = try bothSides()
        let (_, flows) = recordBoth(snapshot, steer: nil, "GET", "/allowed", code: 0)
        XCTAssertEqual(
            flows.map { "\($0.type) \($0.verdict) \($0.trafficDirection) \($0.dropReason)" },
            ["l3L4 dropped unknown 133"])
    }

    func testARejectedRequestIsRecordedOnTheFirstSideWithoutVerdictDetail() throws {
        let snapshot = try bothSides()
        let sink = RecordSink()
        let recorder = HTTPFlowRecorder(flows: sink, addresses: addresses, steer: TestPolicy.bothSidesSteer(snapshot))
        recorder.malformedRequest()
        recorder.response(code: 400)
        HTTPRequestFixture.http1("GET", "/a%2Fb") { recorder.beginRequest(view: $0, versionMinor: 0) }
        recorder.rejected(verdict: .dropped)
        recorder.response(code: 307)
        recorder.response(code: 307)
        let flows = sink.records.map { Flow.decode($0, directory: EndpointDirectory(), monotonicToWallOffsetNs: 0) }
        XCTAssertEqual(
            flows.map(line),
            [
                "request egress error 0 -", "response egress forwarded 400 -",
                "request egress dropped 0 -", "response egress forwarded 307 -",
            ], "one response flow per request")
        guard flows.count == 4 else { return }
        XCTAssertEqual(flows[0].http?.url, "http://")
        XCTAssertEqual(flows[2].http?.protocol, "HTTP/1")
        XCTAssertEqual(flows[2].http?.url, "http://backend/a%2Fb")
    }

    func testWithoutASinkNothingIsWritten() throws {
        let snapshot = try bothSides()
        let recorder = HTTPFlowRecorder(flows: nil, addresses: addresses, steer: TestPolicy.bothSidesSteer(snapshot))
        var edits = HTTPHeaderEdits()
        let verdict = HTTPRequestFixture.http1("GET", "/allowed") { view -> HTTPVerdict in
            recorder.beginRequest(view: view, versionMinor: 1)
            return HTTPVerdict.evaluate(
                view, steer: TestPolicy.bothSidesSteer(snapshot), snapshot: snapshot, port: port, edits: &edits)
        }
        recorder.decided(verdict)
        recorder.response(code: 200)
        XCTAssertTrue(verdict.allowed)
    }

    /// One HTTP/1 request through `recorder`: begin, decide, and `between` before the response.
    private func exchange(
        _ recorder: HTTPFlowRecorder, _ snapshot: PolicySnapshot, _ path: String, between: () -> Void = {}
    ) {
        let steer = TestPolicy.bothSidesSteer(snapshot)
        var edits = HTTPHeaderEdits()
        let verdict = HTTPRequestFixture.http1("GET", path) { view -> HTTPVerdict in
            recorder.beginRequest(view: view, versionMinor: 1)
            return HTTPVerdict.evaluate(view, steer: steer, snapshot: snapshot, port: port, edits: &edits)
        }
        recorder.decided(verdict)
        between()
        recorder.response(code: 200)
    }

    func testWhilePausedARequestWritesNoFlowAndEachRequestKeepsItsPair() throws {
        let snapshot = try bothSides()
        let sink = RecordSink()
        let recording = FlowRecording()
        let recorder = HTTPFlowRecorder(
            flows: sink, recording: recording, addresses: addresses, steer: TestPolicy.bothSidesSteer(snapshot))
        func urls() -> [String] {
            sink.records.map {
                let f = Flow.decode($0, directory: EndpointDirectory(), monotonicToWallOffsetNs: 0)
                return "\(f.l7?.type ?? .unknown) \(f.http?.url ?? "")"
            }
        }
        exchange(recorder, snapshot, "/allowed/1")
        XCTAssertEqual(sink.records.count, 4, "on: a request and a response flow per side")

        recording.pause()
        exchange(recorder, snapshot, "/allowed/2")
        recorder.malformedRequest()
        recorder.response(code: 400)
        XCTAssertEqual(sink.records.count, 4, "paused: nothing, malformed requests included")

        exchange(recorder, snapshot, "/allowed/3", between: recording.resume)
        XCTAssertEqual(sink.records.count, 4, "begun while paused: no response flow without its request flow")

        exchange(recorder, snapshot, "/allowed/4", between: recording.pause)
        XCTAssertEqual(
            urls().suffix(4),
            [
                "request http://backend/allowed/4", "request http://backend/allowed/4",
                "response http://backend/allowed/4", "response http://backend/allowed/4",
            ], "begun while on: the response flows follow although the switch moved")
        exchange(recorder, snapshot, "/allowed/5")
        XCTAssertEqual(sink.records.count, 8)
    }
}
