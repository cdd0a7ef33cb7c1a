import CSluiceShared
import Policy
import XCTest

@testable import Datapath

/// Records of allowed L3/L4 traffic (bpf/lib/trace.h, run with BPF_PROG_RUN through the tc
/// programs): trace records at Cilium's `medium` monitor aggregation (a connection's first
/// packet, each new SYN/FIN/RST of either side, the first reply; never one per packet) and
/// policy-verdict records for a connection's first packet where a policy decided.
final class TraceTests: XCTestCase {
    let a = Fixture.podA
    let b = Fixture.podB
    let outside = Fixture.outside
    let syn = UInt8(SLUICE_TCP_SYN)
    let synAck = UInt8(SLUICE_TCP_SYN | SLUICE_TCP_ACK)
    let ack = UInt8(SLUICE_TCP_ACK)
    let pshAck = UInt8(SLUICE_TCP_PSH | SLUICE_TCP_ACK)
    let finAck = UInt8(SLUICE_TCP_FIN | SLUICE_TCP_ACK)

    private func tcp(_ src: UInt32, _ dst: UInt32, _ sport: UInt16, _ dport: UInt16, _ flags: UInt8) -> [UInt8] {
        Packets.ipv4(src: src, dst: dst, proto: Fixture.tcp, l4: Packets.tcp(sport: sport, dport: dport, flags: flags))
    }

    private func udp(_ src: UInt32, _ dst: UInt32, _ sport: UInt16, _ dport: UInt16) -> [UInt8] {
        Packets.ipv4(src: src, dst: dst, proto: Fixture.udp, l4: Packets.udp(sport: sport, dport: dport))
    }

    /// The records written while `body` runs, with the event type `type`.
    private func records(_ h: PolicyHarness, _ type: sluice_event_type, _ body: () throws -> Void) throws
        -> [sluice_flow]
    {
        let mark = try h.t.flowMark()
        try body()
        return try h.t.flows(since: mark).filter { $0.event_type == UInt8(type.rawValue) }
    }

    private func pass(_ verdict: UInt32, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(verdict, TC.ok, "the packet passes", file: file, line: line)
    }

    /// A to B under no policy: SYN, SYN-ACK, ACK, data both ways, FIN both ways, last ACK. Four
    /// traces: the opener's SYN (NEW) and FIN (ESTABLISHED), the reply's SYN-ACK and FIN (REPLY).
    func testTCPConnectionIsTracedAtItsFlagChanges() throws {
        try PolicyHarness.with("") { h in
            let traces = try records(h, SLUICE_EVENT_TRACE) {
                pass(try h.fromA(tcp(a, b, 40000, 80, syn)))
                pass(try h.fromA(tcp(a, b, 40000, 80, syn)))  // retransmitted SYN: nothing new
                pass(try h.fromB(tcp(b, a, 80, 40000, synAck)))
                pass(try h.fromA(tcp(a, b, 40000, 80, ack)))
                for _ in 0..<5 {
                    pass(try h.fromA(tcp(a, b, 40000, 80, pshAck)))
                    pass(try h.fromB(tcp(b, a, 80, 40000, pshAck)))
                }
                pass(try h.fromA(tcp(a, b, 40000, 80, finAck)))
                pass(try h.fromB(tcp(b, a, 80, 40000, finAck)))
                pass(try h.fromA(tcp(a, b, 40000, 80, ack)))
            }
            XCTAssertEqual(traces.map(\.tcp_flags), [syn, synAck, finAck, finAck])
            XCTAssertEqual(
                traces.map(\.trace_reason),
                [
                    UInt8(SLUICE_TRACE_REASON_NEW.rawValue),
                    UInt8(SLUICE_TRACE_REASON_REPLY.rawValue),
                    UInt8(SLUICE_TRACE_REASON_ESTABLISHED.rawValue),
                    UInt8(SLUICE_TRACE_REASON_REPLY.rawValue),
                ])
            XCTAssertEqual(
                traces.map(\.is_reply),
                [
                    UInt8(SLUICE_REPLY_FALSE.rawValue), UInt8(SLUICE_REPLY_TRUE.rawValue),
                    UInt8(SLUICE_REPLY_FALSE.rawValue), UInt8(SLUICE_REPLY_TRUE.rawValue),
                ])
            // Hubble's direction: the connection as the pod whose veth saw the packet has it.
            XCTAssertEqual(
                traces.map(\.direction),
                [
                    UInt8(SLUICE_DIR_EGRESS.rawValue), UInt8(SLUICE_DIR_INGRESS.rawValue),
                    UInt8(SLUICE_DIR_EGRESS.rawValue), UInt8(SLUICE_DIR_INGRESS.rawValue),
                ])
            for trace in traces {
                XCTAssertEqual(trace.verdict, UInt8(SLUICE_VERDICT_FORWARDED.rawValue))
                XCTAssertEqual(trace.flow_type, UInt8(SLUICE_FLOW_TYPE_L3_L4.rawValue))
                XCTAssertEqual(trace.trace_point, UInt8(SLUICE_TRACE_TO_ENDPOINT.rawValue))
                XCTAssertEqual(trace.l4_proto, Fixture.tcp)
                XCTAssertEqual(trace.ip_version, 4)
            }
            let first = try XCTUnwrap(traces.first)
            XCTAssertEqual(sluice_flow.ipv4(first.src_ip), a)
            XCTAssertEqual(sluice_flow.ipv4(first.dst_ip), b)
            XCTAssertEqual([first.src_port, first.dst_port], [40000, 80])
            XCTAssertEqual([first.src_identity, first.dst_identity], [h.identityA, h.identityB])
            XCTAssertEqual([first.src_endpoint, first.dst_endpoint], [1, 2])
            let reply = traces[1]
            XCTAssertEqual(sluice_flow.ipv4(reply.src_ip), b, "a reply keeps the packet's source")
            XCTAssertEqual([reply.src_identity, reply.dst_identity], [h.identityB, h.identityA])

            let verdicts = try records(h, SLUICE_EVENT_POLICY_VERDICT) {
                pass(try h.fromA(tcp(a, b, 40001, 80, syn)))
            }
            XCTAssertEqual(verdicts.count, 0, "no policy in either direction: no policy verdict")
        }
    }

    /// Cilium's CT_REPORT_INTERVAL: an established connection whose last trace in a direction is
    /// 5 s old is traced again on its next packet that way (ESTABLISHED for the opener, REPLY for
    /// the other side), once, with no flag change; younger than 5 s it is not. The entry's report
    /// times are moved back instead of waiting.
    func testAnEstablishedConnectionIsTracedAgainAfterFiveSeconds() throws {
        try PolicyHarness.with("") { h in
            let tuple = Fixture.tuple(src: a, dst: b, sport: 40000, dport: 80, proto: Fixture.tcp)
            pass(try h.fromA(tcp(a, b, 40000, 80, syn)))
            pass(try h.fromB(tcp(b, a, 80, 40000, synAck)))
            pass(try h.fromA(tcp(a, b, 40000, 80, ack)))
            func reportedAgo(tx: UInt32, rx: UInt32) throws {
                var entry = try XCTUnwrap(h.t.datapath.connection(tuple))
                let now = Datapath.monotonicSeconds()
                entry.tx_report_s = now &- tx
                entry.rx_report_s = now &- rx
                try h.t.datapath.setConnection(tuple, entry)
            }
            try reportedAgo(tx: 4, rx: 4)
            let young = try records(h, SLUICE_EVENT_TRACE) {
                pass(try h.fromA(tcp(a, b, 40000, 80, pshAck)))
                pass(try h.fromB(tcp(b, a, 80, 40000, pshAck)))
            }
            XCTAssertEqual(young.count, 0, "last traced 4 s ago: not yet")
            try reportedAgo(tx: 5, rx: 6)
            let repeated = try records(h, SLUICE_EVENT_TRACE) {
                for _ in 0..<3 {
                    pass(try h.fromA(tcp(a, b, 40000, 80, pshAck)))
                    pass(try h.fromB(tcp(b, a, 80, 40000, pshAck)))
                }
            }
            XCTAssertEqual(repeated.map(\.tcp_flags), [pshAck, pshAck])
            XCTAssertEqual(
                repeated.map(\.trace_reason),
                [UInt8(SLUICE_TRACE_REASON_ESTABLISHED.rawValue), UInt8(SLUICE_TRACE_REASON_REPLY.rawValue)])
            XCTAssertEqual(
                repeated.map(\.is_reply), [UInt8(SLUICE_REPLY_FALSE.rawValue), UInt8(SLUICE_REPLY_TRUE.rawValue)])
            XCTAssertEqual(repeated.map { sluice_flow.ipv4($0.src_ip) }, [a, b])
            let entry = try XCTUnwrap(h.t.datapath.connection(tuple))
            XCTAssertEqual(
                [entry.tx_report_s, entry.rx_report_s].map { Datapath.monotonicSeconds() &- $0 <= 1 }, [true, true])
        }
    }

    /// UDP has no flags: its first datagram each way is traced, the rest are not.
    func testUDPIsTracedOnceEachWay() throws {
        try PolicyHarness.with("") { h in
            let traces = try records(h, SLUICE_EVENT_TRACE) {
                for _ in 0..<3 {
                    pass(try h.fromA(udp(a, b, 50000, 53)))
                    pass(try h.fromB(udp(b, a, 53, 50000)))
                }
            }
            XCTAssertEqual(
                traces.map(\.is_reply), [UInt8(SLUICE_REPLY_FALSE.rawValue), UInt8(SLUICE_REPLY_TRUE.rawValue)])
            XCTAssertEqual(traces.map(\.l4_proto), [Fixture.udp, Fixture.udp])
        }
    }

    /// An L4 allow on B's ingress (L3-L4: from A's namespace on port 80) and an egress rule of A
    /// on every peer's port 80 (L4-only): one policy verdict per enforcing direction on the first
    /// packet, none for the rest of the connection or its replies.
    func testPolicyVerdictOnTheFirstPacketWithItsMatchType() throws {
        let policy = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: b-ingress, namespace: backend}
            spec:
              endpointSelector: {}
              ingress:
              - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: a-egress, namespace: frontend}
            spec:
              endpointSelector: {}
              egress:
              - toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """
        try PolicyHarness.with(policy) { h in
            let verdicts = try records(h, SLUICE_EVENT_POLICY_VERDICT) {
                pass(try h.fromA(tcp(a, b, 40000, 80, syn)))
                pass(try h.fromB(tcp(b, a, 80, 40000, synAck)))
                pass(try h.fromA(tcp(a, b, 40000, 80, ack)))
                pass(try h.fromA(tcp(a, b, 40000, 80, pshAck)))
                pass(try h.fromA(tcp(a, b, 40000, 80, finAck)))
            }
            XCTAssertEqual(
                verdicts.map(\.direction), [UInt8(SLUICE_DIR_EGRESS.rawValue), UInt8(SLUICE_DIR_INGRESS.rawValue)])
            XCTAssertEqual(
                verdicts.map(\.policy_match),
                [
                    UInt8(SLUICE_POLICY_MATCH_L4_ONLY.rawValue),
                    UInt8(SLUICE_POLICY_MATCH_L3_L4.rawValue),
                ])
            // Each names the policy whose entry allowed it (egress_allowed_by, ingress_allowed_by).
            XCTAssertEqual(
                verdicts.map(\.policy_ref),
                [
                    PolicyKey(kind: .ciliumNetworkPolicy, namespace: "frontend", name: "a-egress").ref,
                    PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "b-ingress").ref,
                ])
            for verdict in verdicts {
                XCTAssertEqual(verdict.verdict, UInt8(SLUICE_VERDICT_FORWARDED.rawValue))
                XCTAssertEqual(verdict.is_reply, UInt8(SLUICE_REPLY_FALSE.rawValue))
                XCTAssertEqual(verdict.tcp_flags, syn)
                XCTAssertEqual([verdict.src_identity, verdict.dst_identity], [h.identityA, h.identityB])
                XCTAssertEqual([verdict.src_port, verdict.dst_port], [40000, 80])
            }
            // A new connection (a SYN after the FIN closed it) is decided and reported again.
            let again = try records(h, SLUICE_EVENT_POLICY_VERDICT) {
                pass(try h.fromB(tcp(b, a, 80, 40000, finAck)))
                pass(try h.fromA(tcp(a, b, 40000, 80, syn)))
            }
            XCTAssertEqual(again.count, 2)
        }
    }

    /// An explicit deny's drop names the deny's policy (ingress_denied_by); a default-deny drop
    /// names none (no entry decided it).
    func testAnExplicitDenyDropNamesItsPolicyAndADefaultDenyDropNone() throws {
        let policy = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: b-allow-80, namespace: backend}
            spec:
              endpointSelector: {}
              ingress:
              - fromEndpoints: [{}]
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            ---
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: b-deny-frontend, namespace: backend}
            spec:
              endpointSelector: {}
              ingressDeny:
              - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]
                toPorts: [{ports: [{port: "80", protocol: TCP}]}]
            """
        try PolicyHarness.with(policy) { h in
            let drops = try records(h, SLUICE_EVENT_DROP) {
                XCTAssertEqual(try h.fromA(tcp(a, b, 40000, 80, syn)), TC.shot)
                XCTAssertEqual(try h.fromA(tcp(a, b, 40001, 81, syn)), TC.shot)
            }
            XCTAssertEqual(
                drops.map(\.drop_reason),
                [UInt8(SLUICE_DROP_POLICY_DENY.rawValue), UInt8(SLUICE_DROP_POLICY_DENIED.rawValue)])
            XCTAssertEqual(
                drops.map(\.policy_ref),
                [PolicyKey(kind: .ciliumNetworkPolicy, namespace: "backend", name: "b-deny-frontend").ref, 0])
        }
    }

    /// World to B (the to-endpoint program) and B's reply (B's veth, toward the stack); A to the
    /// world is traced toward the stack.
    func testWorldTrafficIsTracedAtTheRightPoints() throws {
        try PolicyHarness.with("") { h in
            let inbound = try records(h, SLUICE_EVENT_TRACE) {
                pass(try h.t.runToPod(tcp(outside, b, 33000, 8080, syn)))
                pass(try h.t.runToPod(tcp(outside, b, 33000, 8080, ack)))
                pass(try h.fromB(tcp(b, outside, 8080, 33000, synAck)))
                pass(try h.fromB(tcp(b, outside, 8080, 33000, pshAck)))
            }
            XCTAssertEqual(
                inbound.map(\.trace_point),
                [
                    UInt8(SLUICE_TRACE_TO_ENDPOINT.rawValue),
                    UInt8(SLUICE_TRACE_TO_STACK.rawValue),
                ])
            XCTAssertEqual(
                inbound.map(\.direction), [UInt8(SLUICE_DIR_INGRESS.rawValue), UInt8(SLUICE_DIR_INGRESS.rawValue)])
            XCTAssertEqual(inbound.map(\.src_identity), [2 /* world */, h.identityB])
            XCTAssertEqual(
                inbound.map(\.is_reply), [UInt8(SLUICE_REPLY_FALSE.rawValue), UInt8(SLUICE_REPLY_TRUE.rawValue)])

            let outbound = try records(h, SLUICE_EVENT_TRACE) {
                pass(try h.fromA(tcp(a, outside, 41000, 443, syn)))
                pass(try h.t.runToPod(tcp(outside, a, 443, 41000, synAck)))
            }
            XCTAssertEqual(
                outbound.map(\.trace_point),
                [
                    UInt8(SLUICE_TRACE_TO_STACK.rawValue),
                    UInt8(SLUICE_TRACE_TO_ENDPOINT.rawValue),
                ])
            XCTAssertEqual(
                outbound.map(\.direction), [UInt8(SLUICE_DIR_EGRESS.rawValue), UInt8(SLUICE_DIR_EGRESS.rawValue)])
            XCTAssertEqual(outbound.map(\.dst_identity), [2, h.identityA])
        }
    }

    /// The agent's --no-flows (`setAllowedTrafficRecords(false)`) turns the records of allowed
    /// traffic off; drops are still recorded, and turning them on again works at once.
    func testAllowedTrafficRecordsCanBeTurnedOff() throws {
        try PolicyHarness.with(PolicyHarness.denyAll) { h in
            try h.t.datapath.setAllowedTrafficRecords(false)
            try h.t.datapath.setDenyResponse(.none)
            XCTAssertEqual(try h.t.datapath.config().no_allowed_records, 1, "setDenyResponse keeps the other option")
            let mark = try h.t.flowMark()
            pass(try h.t.runToPod(tcp(outside, b, 33000, 8080, syn), ingressIfindex: 0))  // the node: allow-localhost
            XCTAssertEqual(try h.fromA(tcp(a, b, 40000, 80, syn)), TC.shot)
            let written = try h.t.flows(since: mark)
            XCTAssertEqual(written.map(\.event_type), [UInt8(SLUICE_EVENT_DROP.rawValue)])

            try h.t.datapath.setAllowedTrafficRecords(true)
            let traces = try records(h, SLUICE_EVENT_TRACE) {
                pass(try h.t.runToPod(tcp(outside, b, 33001, 8080, syn), ingressIfindex: 0))
            }
            XCTAssertEqual(traces.count, 1)
        }
    }
}
