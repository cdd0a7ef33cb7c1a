import CSluiceShared
import XCTest

@testable import Datapath

/// Trace records bpf/tc_endpoint.c writes where connection tracking does not decide them, run
/// with BPF_PROG_RUN: allowed IPv6 TCP packets with SYN, FIN or RST (no IPv6 conntrack: the
/// packet's flags stand for Cilium's `medium` aggregation), and ICMP errors related to a tracked
/// connection (Cilium's CT_RELATED: trace reason RELATED, on the connection's direction).
final class TCEndpointTraceRelatedTests: XCTestCase {
    private func v6(_ sport: UInt16, _ dport: UInt16, flags: Int32, from: UInt8 = 0xa, to: UInt8 = 0xb) -> [UInt8] {
        Packets.ipv6(
            src: Packets.ip6(from), dst: Packets.ip6(to), next: Fixture.tcp,
            l4: Packets.tcp(sport: sport, dport: dport, flags: UInt8(flags)))
    }

    func testIpv6TcpFlagPacketsAreTracedAndOthersNot() throws {
        try PolicyHarness.with("", ifindexB: 1) { h throws in
            let (verdict, syn) = try h.withFlow { try h.fromA(self.v6(40000, 80, flags: SLUICE_TCP_SYN)) }
            XCTAssertEqual(verdict, TC.ok)
            let s = try XCTUnwrap(syn, "a SYN leaving a pod is traced")
            XCTAssertEqual(s.event_type, UInt8(SLUICE_EVENT_TRACE.rawValue))
            XCTAssertEqual(s.verdict, UInt8(SLUICE_VERDICT_FORWARDED.rawValue))
            XCTAssertEqual(s.ip_version, 6)
            XCTAssertEqual(s.trace_point, UInt8(SLUICE_TRACE_TO_STACK.rawValue))
            XCTAssertEqual(s.trace_reason, UInt8(SLUICE_TRACE_REASON_NEW.rawValue))
            XCTAssertEqual(s.direction, UInt8(SLUICE_DIR_EGRESS.rawValue))
            XCTAssertEqual(s.is_reply, UInt8(SLUICE_REPLY_FALSE.rawValue))
            XCTAssertEqual(s.src_port, 40000)
            XCTAssertEqual(withUnsafeBytes(of: s.dst_ip) { Array($0) }, Packets.ip6(0xb))

            let (_, synAck) = try h.withFlow {
                try h.t.runToPod(self.v6(80, 40000, flags: SLUICE_TCP_SYN | SLUICE_TCP_ACK, from: 0xb, to: 0xa))
            }
            let r = try XCTUnwrap(synAck, "a SYN-ACK toward a pod is traced as the reply")
            XCTAssertEqual(r.trace_point, UInt8(SLUICE_TRACE_TO_ENDPOINT.rawValue))
            XCTAssertEqual(r.trace_reason, UInt8(SLUICE_TRACE_REASON_REPLY.rawValue))
            XCTAssertEqual(r.is_reply, UInt8(SLUICE_REPLY_TRUE.rawValue))

            let (_, fin) = try h.withFlow { try h.fromA(self.v6(40000, 80, flags: SLUICE_TCP_FIN | SLUICE_TCP_ACK)) }
            XCTAssertEqual(fin?.trace_reason, UInt8(SLUICE_TRACE_REASON_ESTABLISHED.rawValue), "a FIN is traced")

            let mark = try h.t.flowMark()
            XCTAssertEqual(try h.fromA(self.v6(40000, 80, flags: SLUICE_TCP_ACK | SLUICE_TCP_PSH)), TC.ok)
            XCTAssertEqual(try h.fromA(self.v6(40000, 80, flags: SLUICE_TCP_ACK)), TC.ok)
            XCTAssertEqual(try h.t.flows(since: mark).count, 0, "data and ACK packets write nothing")
        }
    }

    private let udp53 = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: dns-out, namespace: frontend}
        spec:
          endpointSelector: {}
          egress:
          - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: backend}}]
            toPorts: [{ports: [{port: "53", protocol: UDP}]}]
        ---
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: dns-in, namespace: backend}
        spec:
          endpointSelector: {}
          ingress:
          - fromEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: frontend}}]
            toPorts: [{ports: [{port: "53", protocol: UDP}]}]
        """

    func testIcmpErrorRelatedToATrackedConnectionIsTracedAsRelated() throws {
        let (a, b) = (Fixture.podA, Fixture.podB)
        try PolicyHarness.with(PolicyHarness.denyAll + "\n---\n" + udp53) { h throws in
            let query = Packets.ipv4(src: a, dst: b, proto: Fixture.udp, l4: Packets.udp(sport: 40000, dport: 53))
            XCTAssertEqual(try h.fromA(query), TC.ok)
            let error = Packets.icmpError(src: b, dst: a, type: 3, code: 3, quoting: Array(query.dropFirst(14)))
            // B sends it (B's egress program): B answered A's connection, so it is B's ingress side.
            let (verdict, sent) = try h.withFlow { try h.fromB(error) }
            XCTAssertEqual(verdict, TC.ok)
            let s = try XCTUnwrap(sent, "the related error is traced")
            XCTAssertEqual(s.event_type, UInt8(SLUICE_EVENT_TRACE.rawValue))
            XCTAssertEqual(s.trace_reason, UInt8(SLUICE_TRACE_REASON_RELATED.rawValue))
            XCTAssertEqual(s.direction, UInt8(SLUICE_DIR_INGRESS.rawValue))
            XCTAssertEqual(s.is_reply, UInt8(SLUICE_REPLY_FALSE.rawValue))
            XCTAssertEqual(s.l4_proto, Packets.icmp)
            XCTAssertEqual(s.icmp_type, 3)
            XCTAssertEqual(s.icmp_code, 3)
            XCTAssertEqual(s.trace_point, UInt8(SLUICE_TRACE_TO_ENDPOINT.rawValue), "pod to pod: to A's veth")
        }
    }

    func testIcmpErrorFromTheWorldIsTracedToThePodThatOpened() throws {
        let a = Fixture.podA
        let dnsOut = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: dns-world, namespace: frontend}
            spec:
              endpointSelector: {}
              egress:
              - toEntities: [world]
                toPorts: [{ports: [{port: "53", protocol: UDP}]}]
            """
        try PolicyHarness.with(PolicyHarness.denyAll + "\n---\n" + dnsOut) { h throws in
            let query = Packets.ipv4(
                src: a, dst: Fixture.outside, proto: Fixture.udp, l4: Packets.udp(sport: 40000, dport: 53))
            XCTAssertEqual(try h.fromA(query), TC.ok)
            let error = Packets.icmpError(
                src: Fixture.outside, dst: a, type: 3, code: 3, quoting: Array(query.dropFirst(14)))
            // Delivered to A (the to-pod program): A opened the connection, its egress side.
            let (verdict, delivered) = try h.withFlow { try h.t.runToPod(error) }
            XCTAssertEqual(verdict, TC.ok)
            let d = try XCTUnwrap(delivered, "the related error toward A is traced")
            XCTAssertEqual(d.trace_point, UInt8(SLUICE_TRACE_TO_ENDPOINT.rawValue))
            XCTAssertEqual(d.trace_reason, UInt8(SLUICE_TRACE_REASON_RELATED.rawValue))
            XCTAssertEqual(d.direction, UInt8(SLUICE_DIR_EGRESS.rawValue))
            XCTAssertEqual(d.src_identity, UInt32(2), "reserved:world")
        }
    }
}
