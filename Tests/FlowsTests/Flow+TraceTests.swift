import CSluiceShared
import XCTest

@testable import Flows

/// The trace and policy-verdict records tc writes for allowed traffic (bpf/lib/trace.h), decoded
/// and printed as `hubble observe` prints Cilium's: the observation point as the type column
/// (`to-endpoint`, `to-stack`), `policy-verdict:L3-L4 INGRESS ALLOWED`, and in JSON
/// `trace_observation_point`, `trace_reason`, `policy_match_type` and `is_reply`.
final class FlowTraceTests: XCTestCase {
    private let utc = PrintTimeZone.utc

    /// An L3/L4 record of a TCP packet between client:43210 and server:80 (`reply`: server to client).
    private func record(
        event: sluice_event_type, verdict: sluice_verdict = SLUICE_VERDICT_FORWARDED,
        flags: Int32, reply: Bool, direction: sluice_direction,
        _ extra: (UnsafeMutablePointer<sluice_flow>) -> Void
    ) -> Flow {
        FlowFixtures.record { rec in
            let (from, to) =
                reply ? (FlowFixtures.server, FlowFixtures.client) : (FlowFixtures.client, FlowFixtures.server)
            rec.pointee.time_ns = FlowFixtures.mono(seconds: 3, millis: 0)
            rec.pointee.src_identity = from.identity
            rec.pointee.dst_identity = to.identity
            rec.pointee.src_endpoint = from.id
            rec.pointee.dst_endpoint = to.id
            let (sip, dip) = reply ? ("10.0.2.45", "10.0.1.23") : ("10.0.1.23", "10.0.2.45")
            withUnsafeMutableBytes(of: &rec.pointee.src_ip) { $0.storeBytes(of: FlowFixtures.ip(sip), as: UInt32.self) }
            withUnsafeMutableBytes(of: &rec.pointee.dst_ip) { $0.storeBytes(of: FlowFixtures.ip(dip), as: UInt32.self) }
            rec.pointee.ip_version = 4
            rec.pointee.l4_proto = 6
            rec.pointee.src_port = reply ? 80 : 43210
            rec.pointee.dst_port = reply ? 43210 : 80
            rec.pointee.tcp_flags = UInt8(flags)
            rec.pointee.verdict = UInt8(verdict.rawValue)
            rec.pointee.flow_type = UInt8(SLUICE_FLOW_TYPE_L3_L4.rawValue)
            rec.pointee.event_type = UInt8(event.rawValue)
            rec.pointee.direction = UInt8(direction.rawValue)
            rec.pointee.is_reply = UInt8((reply ? SLUICE_REPLY_TRUE : SLUICE_REPLY_FALSE).rawValue)
            extra(rec)
        }.1
    }

    private func trace(
        _ point: sluice_trace_point, _ reason: sluice_trace_reason, flags: Int32, reply: Bool = false,
        direction: sluice_direction = SLUICE_DIR_EGRESS
    ) -> Flow {
        record(event: SLUICE_EVENT_TRACE, flags: flags, reply: reply, direction: direction) { rec in
            rec.pointee.trace_point = UInt8(point.rawValue)
            rec.pointee.trace_reason = UInt8(reason.rawValue)
        }
    }

    func testTraceToEndpointPrintsLikeHubble() throws {
        let syn = trace(SLUICE_TRACE_TO_ENDPOINT, SLUICE_TRACE_REASON_NEW, flags: SLUICE_TCP_SYN)
        XCTAssertEqual(
            FlowPrinter.compact(syn, timeZone: utc),
            "Aug  1 10:00:03.000: default/client-7d9f:43210 (ID:11231) -> default/server-5c6b:80 (ID:22411) "
                + "to-endpoint FORWARDED (TCP Flags: SYN)")
        XCTAssertEqual(
            FlowPrinter.json(syn),
            "{\"flow\":{\"time\":\"2026-08-01T10:00:03Z\",\"verdict\":\"FORWARDED\","
                + "\"IP\":{\"source\":\"10.0.1.23\",\"destination\":\"10.0.2.45\",\"ipVersion\":\"IPv4\"},"
                + "\"l4\":{\"TCP\":{\"source_port\":43210,\"destination_port\":80,\"flags\":{\"SYN\":true}}},"
                + "\"source\":{\"ID\":1203,\"identity\":11231,\"namespace\":\"default\","
                + "\"labels\":[\"k8s:app=client\",\"k8s:io.kubernetes.pod.namespace=default\"],\"pod_name\":\"client-7d9f\"},"
                + "\"destination\":{\"ID\":877,\"identity\":22411,\"namespace\":\"default\","
                + "\"labels\":[\"k8s:app=server\",\"k8s:io.kubernetes.pod.namespace=default\"],\"pod_name\":\"server-5c6b\"},"
                + "\"Type\":\"L3_L4\",\"node_name\":\"kind-worker\",\"event_type\":{\"type\":4},"
                + "\"traffic_direction\":\"EGRESS\",\"trace_observation_point\":\"TO_ENDPOINT\",\"trace_reason\":\"NEW\","
                + "\"is_reply\":false,\"Summary\":\"TCP Flags: SYN\"},\"node_name\":\"kind-worker\","
                + "\"time\":\"2026-08-01T10:00:03Z\"}")

        let synAck = trace(
            SLUICE_TRACE_TO_ENDPOINT, SLUICE_TRACE_REASON_REPLY, flags: SLUICE_TCP_SYN | SLUICE_TCP_ACK,
            reply: true, direction: SLUICE_DIR_INGRESS)
        XCTAssertEqual(
            FlowPrinter.compact(synAck, timeZone: utc),
            "Aug  1 10:00:03.000: default/client-7d9f:43210 (ID:11231) <- default/server-5c6b:80 (ID:22411) "
                + "to-endpoint FORWARDED (TCP Flags: SYN, ACK)")
        XCTAssertTrue(FlowPrinter.json(synAck).contains("\"trace_reason\":\"REPLY\",\"is_reply\":true"))
    }

    func testTraceToStackCarriesItsSubType() {
        let flow = trace(SLUICE_TRACE_TO_STACK, SLUICE_TRACE_REASON_ESTABLISHED, flags: SLUICE_TCP_FIN | SLUICE_TCP_ACK)
        XCTAssertEqual(flow.eventType, Flow.EventType(type: 4, subType: 3))
        XCTAssertEqual(FlowPrinter.flowType(flow), "to-stack")
        let json = FlowPrinter.json(flow)
        XCTAssertTrue(json.contains("\"event_type\":{\"type\":4,\"sub_type\":3}"), json)
        XCTAssertTrue(json.contains("\"trace_observation_point\":\"TO_STACK\",\"trace_reason\":\"ESTABLISHED\""), json)
    }

    func testPolicyVerdictPrintsItsMatchType() throws {
        let flow = record(
            event: SLUICE_EVENT_POLICY_VERDICT, flags: SLUICE_TCP_SYN, reply: false,
            direction: SLUICE_DIR_INGRESS
        ) { $0.pointee.policy_match = UInt8(SLUICE_POLICY_MATCH_L3_L4.rawValue) }
        XCTAssertEqual(
            FlowPrinter.compact(flow, timeZone: utc),
            "Aug  1 10:00:03.000: default/client-7d9f:43210 (ID:11231) -> default/server-5c6b:80 (ID:22411) "
                + "policy-verdict:L3-L4 INGRESS ALLOWED (TCP Flags: SYN)")
        let json = FlowPrinter.json(flow)
        XCTAssertTrue(
            json.contains(
                "\"event_type\":{\"type\":5},\"traffic_direction\":\"INGRESS\",\"policy_match_type\":2,"
                    + "\"is_reply\":false"), json)
        XCTAssertFalse(json.contains("trace_observation_point"), json)
        let redirected = record(
            event: SLUICE_EVENT_POLICY_VERDICT, verdict: SLUICE_VERDICT_REDIRECTED, flags: SLUICE_TCP_SYN,
            reply: false, direction: SLUICE_DIR_EGRESS
        ) {
            $0.pointee.policy_match = UInt8(SLUICE_POLICY_MATCH_L4_ONLY.rawValue)
        }
        XCTAssertTrue(
            FlowPrinter.compact(redirected, timeZone: utc).hasSuffix(
                "policy-verdict:L4-Only EGRESS ALLOWED (TCP Flags: SYN)"))
        let names = (0...7).map { Flow.policyMatchName(UInt32($0)) }
        XCTAssertEqual(names, ["none", "L3-Only", "L3-L4", "L4-Only", "all", "L3-Proto", "Proto-Only", "7"])
    }

    /// The policy a policy-verdict record or an explicit-deny drop names (`policy_ref`, from the
    /// policy map entry) is filed under its direction and verdict; traces, default-deny drops and
    /// unknown numbers name nothing.
    func testPolicyVerdictsAndDenyDropsNameTheirPolicy() throws {
        let ref: UInt32 = 0x1234_5678
        let directory = EndpointDirectory(
            file: .init(
                nodeName: "kind-worker", endpoints: [FlowFixtures.client, FlowFixtures.server], identities: [],
                policies: [.init(ref: ref, kind: "CiliumNetworkPolicy", namespace: "default", name: "server-80")]))
        let policy = Flow.Policy(name: "server-80", namespace: "default", kind: "CiliumNetworkPolicy")
        func decoded(
            _ event: sluice_event_type, _ verdict: sluice_verdict, _ direction: sluice_direction,
            ref: UInt32 = ref, reason: sluice_drop_reason = SLUICE_DROP_NONE
        ) -> Flow {
            var rec = sluice_flow()
            rec.flow_type = UInt8(SLUICE_FLOW_TYPE_L3_L4.rawValue)
            rec.event_type = UInt8(event.rawValue)
            rec.verdict = UInt8(verdict.rawValue)
            rec.direction = UInt8(direction.rawValue)
            rec.drop_reason = UInt8(reason.rawValue)
            rec.policy_ref = ref
            return Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: 0)
        }
        let ingress = decoded(SLUICE_EVENT_POLICY_VERDICT, SLUICE_VERDICT_FORWARDED, SLUICE_DIR_INGRESS)
        XCTAssertEqual(ingress.ingressAllowedBy, [policy])
        XCTAssertEqual(ingress.egressAllowedBy, [])
        let json = FlowPrinter.json(ingress)
        XCTAssertTrue(
            json.contains(
                "\"ingress_allowed_by\":[{\"name\":\"server-80\",\"namespace\":\"default\",\"labels\":["
                    + "\"k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy\","), json)
        XCTAssertEqual(
            decoded(SLUICE_EVENT_POLICY_VERDICT, SLUICE_VERDICT_REDIRECTED, SLUICE_DIR_EGRESS).egressAllowedBy,
            [policy])
        let deny = decoded(
            SLUICE_EVENT_DROP, SLUICE_VERDICT_DROPPED, SLUICE_DIR_INGRESS, reason: SLUICE_DROP_POLICY_DENY)
        XCTAssertEqual(deny.ingressDeniedBy, [policy])
        XCTAssertEqual(deny.ingressAllowedBy, [])
        XCTAssertEqual(
            decoded(SLUICE_EVENT_DROP, SLUICE_VERDICT_DROPPED, SLUICE_DIR_EGRESS, ref: 0).egressDeniedBy, [])
        XCTAssertEqual(decoded(SLUICE_EVENT_TRACE, SLUICE_VERDICT_FORWARDED, SLUICE_DIR_INGRESS).ingressAllowedBy, [])
        XCTAssertEqual(
            decoded(SLUICE_EVENT_POLICY_VERDICT, SLUICE_VERDICT_FORWARDED, SLUICE_DIR_INGRESS, ref: 7)
                .ingressAllowedBy, [])
    }

    /// Exported JSON reads back with the same trace and policy-verdict fields (`--input-file`).
    func testTraceFieldsRoundTripThroughJSON() throws {
        let flows = [
            trace(SLUICE_TRACE_TO_PROXY, SLUICE_TRACE_REASON_NEW, flags: SLUICE_TCP_SYN),
            record(
                event: SLUICE_EVENT_POLICY_VERDICT, flags: SLUICE_TCP_SYN, reply: false, direction: SLUICE_DIR_EGRESS
            ) {
                $0.pointee.policy_match = UInt8(SLUICE_POLICY_MATCH_ALL.rawValue)
            },
        ]
        for flow in flows {
            let back = try XCTUnwrap(try Flow.fromJSON(FlowPrinter.json(flow)))
            XCTAssertEqual(back.traceObservationPoint, flow.traceObservationPoint)
            XCTAssertEqual(back.traceReason, flow.traceReason)
            XCTAssertEqual(back.policyMatchType, flow.policyMatchType)
            XCTAssertEqual(FlowPrinter.json(back), FlowPrinter.json(flow))
        }
        XCTAssertEqual(Flow.TraceObservationPoint(subType: 0), .toEndpoint)
        XCTAssertEqual(Flow.TraceObservationPoint(subType: 1), .toProxy)
        XCTAssertEqual(Flow.TraceObservationPoint(subType: 99), .unknown)
    }

    func testTraceReasonNamesAreTheProtobufOnes() {
        XCTAssertEqual(
            Flow.TraceReason.allCases.map(\.name), ["TRACE_REASON_UNKNOWN", "NEW", "ESTABLISHED", "REPLY", "RELATED"])
        XCTAssertEqual(Flow.TraceReason(name: "REPLY"), .reply)
    }
}
