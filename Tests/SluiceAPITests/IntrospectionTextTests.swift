import Flows
import SluiceAPI
import SluiceModel
import XCTest

/// `sluice status`, `endpoint list`, `identity list`, `fqdn cache list` and `bpf ct list` text, checked
/// by hand against cilium-dbg's layouts (tabwriter columns: widest cell + 3; e.g. the labels column is
/// 39 + 3 = 42 wide, the empty IPv6 column 4 + 3 = 7).
final class IntrospectionTextTests: XCTestCase {
    /// The agent state every test formats (AgentIntrospectionTests encodes it).
    static let info = AgentIntrospection(
        version: "0.15.0", uptimeSeconds: 3723, nodeName: "sluice-node", datapathAttached: true,
        endpoints: [
            .init(
                .init(
                    id: 1001, namespace: "default", pod: "client", ipv4: "10.200.0.11", identity: 30001,
                    labels: ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=default"]),
                ingressEnforcement: "Disabled", egressEnforcement: "Disabled", attached: true),
            .init(
                .init(
                    id: 1002, namespace: "backend", pod: "backend", ipv4: "10.200.0.12", identity: 30002,
                    labels: ["k8s:app=backend"]),
                ingressEnforcement: "Enabled", egressEnforcement: "Disabled", attached: false),
        ],
        identities: [
            .init(identity: 2, labels: ["reserved:world"]), .init(identity: 30002, labels: ["k8s:app=backend"]),
        ],
        policies: ["CiliumNetworkPolicy backend/allow-from-frontend"], l7Ports: [], proxyWorkers: 2,
        flowsSeen: 5000, flowRingSize: 4096, dnsProxy: "listening on 127.0.0.1:10053 (udp, tcp)",
        lastApply: nil)

    private var info: AgentIntrospection { Self.info }

    func testStatus() {
        XCTAssertEqual(
            IntrospectionText.status(info),
            [
                "Sluice:           Ok   0.15.0 (agent up 1h2m3s)",
                "Node:             sluice-node",
                "Datapath:         Attached (1/2 endpoints)",
                "Endpoints:        2 (policy enforced: ingress 1, egress 0)",
                "Identities:       2",
                "Policies:         1",
                "L7 proxy ports:   none",
                "Proxy workers:    2",
                "DNS proxy:        listening on 127.0.0.1:10053 (udp, tcp)",
                "Flows:            Ok   Current/Max Flows: 4096/4096, Flows seen: 5000",
                "Last apply:       none since the agent started",
                "  CiliumNetworkPolicy backend/allow-from-frontend",
            ])
        var broken = info
        broken.tlsSecretErrors = ["TLS secret \"b/web\" (terminatingTLS of p): /s/b/web/tls.crt is missing; x"]
        let lines = IntrospectionText.status(broken)
        XCTAssertEqual(lines[11], "TLS secrets:      1 cannot be used")
        XCTAssertEqual(lines[12], "  error: TLS secret \"b/web\" (terminatingTLS of p): /s/b/web/tls.crt is missing; x")
        XCTAssertEqual(lines[13], "  CiliumNetworkPolicy backend/allow-from-frontend")
        broken.tlsSecretErrors = []
        XCTAssertEqual(IntrospectionText.status(broken), IntrospectionText.status(info), "no line when all are usable")
        var paused = info
        paused.flowsPaused = true
        XCTAssertEqual(
            IntrospectionText.status(paused)[9],
            "Flows:            Paused   Current/Max Flows: 4096/4096, Flows seen: 5000")
        paused.flowsPaused = false
        XCTAssertEqual(IntrospectionText.status(paused), IntrospectionText.status(info), "Ok unless paused")
        XCTAssertEqual(IntrospectionText.duration(59), "59s")
        XCTAssertEqual(IntrospectionText.duration(240), "4m0s")
    }

    func testEndpointList() {
        XCTAssertEqual(
            IntrospectionText.endpoints(info),
            [
                "ENDPOINT   POLICY (ingress)   POLICY (egress)   IDENTITY   LABELS (source:key[=value])               IPv6   IPv4          STATUS",
                "           ENFORCEMENT        ENFORCEMENT",
                "1001       Disabled           Disabled          30001      k8s:app=client                                   10.200.0.11   ready",
                "                                                           k8s:io.kubernetes.pod.namespace=default",
                "1002       Enabled            Disabled          30002      k8s:app=backend                                  10.200.0.12   not-ready",
            ])
    }

    func testIdentityList() {
        XCTAssertEqual(
            IntrospectionText.identities(info),
            [
                "ID      LABELS",
                "2       reserved:world",
                "30002   k8s:app=backend",
            ])
    }

    func testFQDNCacheList() {
        let file = FQDNCacheFile(names: [
            "cilium.io.": [
                "104.198.14.52": .init(expiresNs: 1_785_578_700_000_000_000, lastSeenNs: 1_785_578_400_000_000_000)
            ]
        ])
        XCTAssertEqual(
            IntrospectionText.fqdnCache(file),
            [
                "Endpoint   Source   FQDN         TTL   ExpirationTime             IPs",
                "all        lookup   cilium.io.   300   2026-08-01T10:05:00.000Z   104.198.14.52",
            ])
        XCTAssertEqual(
            IntrospectionText.fqdnCache(FQDNCacheFile()),
            [
                "Endpoint   Source   FQDN   TTL   ExpirationTime   IPs"
            ])
    }
}

extension IntrospectionTextTests {
    func testConntrackList() {
        let entries = [
            ConntrackEntry(
                proto: "TCP", source: "10.244.0.5", destination: "10.244.0.6", sourcePort: 43210,
                destinationPort: 80, createdNs: 1_000_000_000, flags: ["from-pod", "closed"]),
            ConntrackEntry(
                proto: "UDP", source: "10.244.0.5", destination: "10.96.0.10", sourcePort: 5353,
                destinationPort: 53, createdNs: 5_000_000_000, flags: []),
        ]
        XCTAssertEqual(
            IntrospectionText.conntrack(entries, nowNs: 13_500_000_000),
            [
                "TCP 10.244.0.5:43210 -> 10.244.0.6:80 age=12s flags=from-pod,closed",
                "UDP 10.244.0.5:5353 -> 10.96.0.10:53 age=8s flags=none",
            ])
    }
}
