import DNS
import Flows
import Policy
import PolicyYAML
import XCTest

@testable import Proxy

/// The decide phase of one DNS query (`DNSQueryDecision.decide`) on both sides of its flow: the
/// client's egress DNS rules decide; the server's ingress can only hold HTTP rules (Cilium has no
/// ingress DNS rules), which no DNS proxy can apply, so it fails closed in the ingress side's name.
final class DNSQueryTests: XCTestCase {
    static let client = DNSEndpointAddress(address: DNSProxyHarness.endpoints[1].ipv4, port: 40000)
    static let server = DNSEndpointAddress(address: DNSProxyHarness.endpoints[0].ipv4, port: 53)

    /// The client's egress DNS rules on 53/`proto`; `serverIngressHTTP` adds HTTP rules on the
    /// server's ingress 53/TCP.
    private func snapshot(proto: String = "TCP", serverIngressHTTP: Bool) throws -> PolicySnapshot {
        var text = DNSProxyHarness.yaml(port: 53, proto: proto, patterns: ["*.allowed.test"])
        if serverIngressHTTP {
            text += """
                ---
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: dns-http, namespace: kube-system}
                spec:
                  endpointSelector: {matchLabels: {k8s-app: kube-dns}}
                  ingress:
                  - fromEntities: [all]
                    toPorts:
                    - ports: [{port: "53", protocol: TCP}]
                      rules: {http: [{}]}

                """
        }
        let repository = PolicyRepository()
        try repository.apply(yamlText: text, fileName: "dns.yaml")
        var allocator = IdentityAllocator()
        return repository.compile(endpoints: DNSProxyHarness.endpoints, allocator: &allocator)
    }

    private func steer(_ snapshot: PolicySnapshot, sides: SteerInfo.Sides) -> SteerInfo {
        SteerInfo(
            sourceEndpoint: DNSProxyHarness.clientID, destinationEndpoint: DNSProxyHarness.dnsID,
            sourceIdentity: snapshot.identity(ofEndpoint: DNSProxyHarness.clientID) ?? 0,
            destinationIdentity: snapshot.identity(ofEndpoint: DNSProxyHarness.dnsID) ?? 0, sides: sides)
    }

    private func decide(
        _ name: String, _ snapshot: PolicySnapshot, steer: SteerInfo?,
        proto: UInt8 = IPProtocol.tcp
    ) -> DNSQueryDecision {
        DNSTest.query(name, id: 7).withUnsafeBytes {
            DNSQueryDecision.decide(
                $0, client: Self.client, server: Self.server, proto: proto, steer: steer,
                snapshot: snapshot, reject: .refused, now: 1)
        }
    }

    /// The rcode of the reply `reply` builds for the query `decide` made of `name`.
    private func rcode(_ reply: DNSRejectReply, _ name: String) throws -> RCode {
        let bytes = DNSTest.query(name, id: 7).withUnsafeBytes { reply.bytes(for: $0) }
        return try bytes.withUnsafeBytes { try DNSParser.parse($0) }.rcode
    }

    func testTheEgressSideDecidesWhenTheServerHasNoIngressL7Rules() throws {
        let s = try snapshot(serverIngressHTTP: false)
        guard case .forward(let query) = decide("www.allowed.test.", s, steer: steer(s, sides: [.egress, .ingress]))
        else { return XCTFail("not forwarded") }
        XCTAssertEqual(query.direction, .egress)
        let ref = PolicyKey(kind: .ciliumNetworkPolicy, namespace: "default", name: "client-dns").ref
        XCTAssertEqual(query.policyRef, ref)

        guard
            case .reject(let denied, let reply) = decide("evil.test.", s, steer: steer(s, sides: [.egress, .ingress]))
        else { return XCTFail("not refused") }
        XCTAssertEqual(denied.direction, .egress)
        XCTAssertEqual(denied.policyRef, ref, "named after the policy whose rules the name failed")
        XCTAssertEqual(try rcode(reply, "evil.test."), .refused)
    }

    func testServerIngressHTTPRulesFailClosedInTheIngressSidesName() throws {
        let s = try snapshot(serverIngressHTTP: true)
        guard
            case .reject(let query, let reply) = decide(
                "www.allowed.test.", s,
                steer: steer(s, sides: [.egress, .ingress]))
        else { return XCTFail("not refused") }
        XCTAssertEqual(query.direction, .ingress)
        XCTAssertEqual(try rcode(reply, "www.allowed.test."), .refused)
        // The egress side's own denial still comes first.
        guard case .reject(let egress, _) = decide("evil.test.", s, steer: steer(s, sides: [.egress, .ingress]))
        else { return XCTFail("not refused") }
        XCTAssertEqual(egress.direction, .egress)
    }

    func testEgressOnlySteeringIgnoresTheServersIngress() throws {
        let s = try snapshot(serverIngressHTTP: true)
        guard case .forward = decide("www.allowed.test.", s, steer: steer(s, sides: .egress)) else {
            return XCTFail("not forwarded")
        }
    }

    func testUDPQueriesAreNeverHeldToHTTPRules() throws {
        let s = try snapshot(proto: "UDP", serverIngressHTTP: true)
        guard
            case .forward = decide(
                "www.allowed.test.", s, steer: steer(s, sides: [.egress, .ingress]),
                proto: IPProtocol.udp)
        else { return XCTFail("not forwarded") }
    }

    func testNoSidesOrNoSteeringDrops() throws {
        let s = try snapshot(serverIngressHTTP: false)
        guard case .drop = decide("www.allowed.test.", s, steer: nil) else { return XCTFail("not dropped") }
        guard case .drop = decide("www.allowed.test.", s, steer: steer(s, sides: [])) else {
            return XCTFail("not dropped")
        }
    }

    func testTheDroppedRequestFlowCarriesItsSideAndPolicy() throws {
        let s = try snapshot(serverIngressHTTP: true)
        guard case .reject(let query, _) = decide("www.allowed.test.", s, steer: steer(s, sides: [.egress, .ingress]))
        else { return XCTFail("not refused") }
        let sink = CollectingSink()
        DNSFlowRecorder(flows: sink).request(query, verdict: .dropped)
        let flow = try XCTUnwrap(sink.waitForFlows(1).first)
        XCTAssertEqual(flow.trafficDirection, .ingress)
        XCTAssertEqual(flow.verdict, .dropped)
        XCTAssertEqual(flow.source?.id, DNSProxyHarness.clientID)
        XCTAssertEqual(flow.destination?.id, DNSProxyHarness.dnsID)
        XCTAssertEqual(flow.l7?.dns?.query, "www.allowed.test.")
    }
}
