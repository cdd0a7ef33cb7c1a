import CLibbpf
import CSluiceShared
import Policy
import PolicyYAML
import XCTest

@testable import Datapath

/// `--policy-deny-response=icmp` in bpf/lib/deny_response.h, run with BPF_PROG_RUN: an egress
/// deny becomes an ICMP destination unreachable (code 13) redirected back to the pod; the
/// default and ingress denies stay silent drops.
final class TCEndpointDenyResponseTests: XCTestCase {
    static let shot: UInt32 = 2  // TC_ACT_SHOT
    static let redirect: UInt32 = 7  // TC_ACT_REDIRECT

    /// A (frontend) egress default deny, B (backend) ingress default deny.
    private let policy = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: no-egress, namespace: frontend}
        spec:
          podSelector: {}
          policyTypes: [Egress]
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: no-ingress, namespace: backend}
        spec:
          podSelector: {}
          policyTypes: [Ingress]
        """

    private func withPolicy(_ response: Datapath.DenyResponse, _ body: (TestDatapath) throws -> Void) throws {
        let t = try TestDatapath()
        defer { t.close() }
        let endpoints = [
            EndpointDescriptor(id: 1, namespace: "frontend", podName: "a", ipv4: Fixture.podA),
            EndpointDescriptor(id: 2, namespace: "backend", podName: "b", ipv4: Fixture.podB),
        ]
        let repository = PolicyRepository()
        try repository.apply(yamlText: policy, fileName: "test.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
        for endpoint in endpoints {
            try t.datapath.setEndpoint(
                ipv4: endpoint.ipv4,
                info: sluice_endpoint_info(
                    id: endpoint.id, identity: snapshot.identity(ofIPv4: endpoint.ipv4), ifindex: 0, flags: 0))
        }
        try t.datapath.syncL3L4(snapshot, hostIPv4: [])
        try t.datapath.setDenyResponse(response)
        try body(t)
    }

    /// The 16-bit one's complement sum of `bytes` (RFC 1071); 0xffff over a block whose
    /// checksum field is right.
    private func onesSum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            sum += UInt32(bytes[index]) << 8 | UInt32(bytes[index + 1])
            index += 2
        }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        return UInt16(sum)
    }

    func testEgressDenyAnswersICMPUnreachable() throws {
        try withPolicy(.icmp) { t in
            var request = Fixture.packet(
                src: Fixture.podA, dst: Fixture.outside, sport: 40000, dport: 80, proto: Fixture.tcp)
            request.replaceSubrange(0..<12, with: [2, 0, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0, 0xaa])  // dst bb, src aa
            request += [UInt8](repeating: 0, count: 20)  // TCP options / payload: cut by the answer
            let result = try t.runTCWithOutput(request)
            XCTAssertEqual(result.verdict, Self.redirect)
            let out = result.packet
            XCTAssertEqual(out.count, 14 + 20 + 8 + 28)
            guard out.count == 70 else { return }
            XCTAssertEqual(Array(out[0..<12]), [2, 0, 0, 0, 0, 0xaa, 2, 0, 0, 0, 0, 0xbb], "MACs swapped")
            XCTAssert(out[12] == 0x08 && out[13] == 0x00)
            XCTAssert(out[14] == 0x45 && out[16] == 0 && out[17] == 56, "IPv4, 56 bytes")
            XCTAssertEqual(out[23], 1, "protocol ICMP")
            XCTAssertEqual(Array(out[26..<30]), Array(request[30..<34]), "from the address the pod tried")
            XCTAssertEqual(Array(out[30..<34]), Array(request[26..<30]), "to the pod")
            XCTAssertEqual(onesSum(out[14..<34]), 0xffff, "IP header checksum")
            XCTAssert(out[34] == 3 && out[35] == 13, "destination unreachable, packet filtered")
            XCTAssertEqual(onesSum(out[34..<70]), 0xffff, "ICMP checksum")
            XCTAssertEqual(Array(out[42..<70]), Array(request[14..<42]), "quotes the IP header and 8 bytes of TCP")
        }
    }

    func testDefaultAndIngressDeniesStaySilent() throws {
        try withPolicy(.none) { t in
            let denied = try t.runTCWithOutput(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.outside, sport: 40000,
                    dport: 80, proto: Fixture.tcp))
            XCTAssertEqual(denied.verdict, Self.shot)
        }
        try withPolicy(.icmp) { t in
            // A packet from outside toward B meets only B's ingress deny.
            let ingress = try t.runTCWithOutput(
                Fixture.packet(
                    src: Fixture.outside, dst: Fixture.podB, sport: 40000,
                    dport: 80, proto: Fixture.tcp))
            XCTAssertEqual(ingress.verdict, Self.shot, "ingress denies are silent (Cilium #41859)")
            let udp = try t.runTCWithOutput(
                Fixture.packet(
                    src: Fixture.podA, dst: Fixture.outside, sport: 40001,
                    dport: 53, proto: Fixture.udp))
            XCTAssertEqual(udp.verdict, Self.redirect, "UDP egress denies are answered too")
        }
    }
}

extension TestDatapath {
    /// Runs the tc program on `packet` with BPF_PROG_RUN and returns the verdict and the packet
    /// as the program left it (`bpf_prog_test_run_opts` with `data_out`).
    func runTCWithOutput(_ packet: [UInt8]) throws -> (verdict: UInt32, packet: [UInt8]) {
        let run = try Self.runSKB(datapath.tcProgramFD, packet, __sk_buff(), "bpf_prog_test_run tc")
        return (run.verdict, run.packet)
    }
}
