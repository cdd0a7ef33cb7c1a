import PolicyYAML
import SluiceModel
import XCTest

@testable import Policy

final class PolicySnapshotTests: XCTestCase {
    private func compile(_ texts: [String], endpoints: [EndpointDescriptor] = Fixtures.tutorialEndpoints) throws
        -> PolicySnapshot
    {
        let repository = PolicyRepository()
        for (index, text) in texts.enumerated() {
            try repository.apply(yamlText: text, fileName: "p\(index).yaml")
        }
        var allocator = IdentityAllocator()
        return repository.compile(endpoints: endpoints, allocator: &allocator)
    }

    private let dnsPolicy = """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: dns, namespace: frontend}
        spec:
          endpointSelector: {}
          egress:
          - toEndpoints:
            - matchLabels: {k8s:io.kubernetes.pod.namespace: database}
            toPorts:
            - ports:
              - port: "53"
                protocol: ANY
              rules:
                dns:
                - matchPattern: "*.cilium.io"
                - matchName: example.com
          - toEntities: [world]
            toPorts:
            - ports:
              - {port: "8000", endPort: 8002, protocol: TCP}
              rules:
                http: [{method: GET}]
        """

    func testL7PortsAndIdentities() throws {
        let snapshot = try compile([try Fixtures.example("tutorial/backend-http-rules.yaml"), dnsPolicy])
        XCTAssertEqual(
            snapshot.l7Ports.map(\.description),
            [
                "endpoint 1 EGRESS 53/TCP dns",
                "endpoint 1 EGRESS 53/UDP dns",
                "endpoint 1 EGRESS 8000/TCP http",
                "endpoint 1 EGRESS 8001/TCP http",
                "endpoint 1 EGRESS 8002/TCP http",
                "endpoint 2 INGRESS 80/TCP http",
            ])
        XCTAssertEqual(snapshot.identity(ofIPv4: Fixtures.ip(2)), 257)
        XCTAssertEqual(snapshot.identity(ofIPv4: UInt32(bigEndian: 0x0808_0808)), ReservedIdentity.world)
        XCTAssertEqual(snapshot.endpoint(ofIPv4: Fixtures.ip(3))?.podName, "db-5c6d")
        XCTAssertNil(snapshot.endpoint(ofIPv4: UInt32(bigEndian: 0x0808_0808)))
        XCTAssertEqual(snapshot.identityLabels(ReservedIdentity.world), ["reserved:world"])
        XCTAssertEqual(snapshot.identityLabels(256).first, "k8s:app=frontend")

        let dns = try XCTUnwrap(snapshot.dnsPolicy(endpointID: 1, port: 53, proto: IPProtocol.udp))
        let server = try XCTUnwrap(snapshot.identity(ofEndpoint: 3))
        XCTAssertEqual(
            dns.decide(peerIdentity: server, qname: "www.cilium.io.").description, "allow rule-matched frontend/dns")
        XCTAssertEqual(
            dns.decide(peerIdentity: server, qname: "EXAMPLE.com").description, "allow rule-matched frontend/dns")
        XCTAssertEqual(
            dns.decide(peerIdentity: server, qname: "evil.example.").description,
            "deny no-rule-matched frontend/dns")
        XCTAssertEqual(dns.decide(peerIdentity: 2, qname: "www.cilium.io.").description, "deny peer-not-allowed")
        XCTAssertNil(snapshot.dnsPolicy(endpointID: 2, port: 53, proto: IPProtocol.udp))

        let world = try XCTUnwrap(snapshot.httpPolicy(endpointID: 1, direction: .egress, port: 8001))
        XCTAssertTrue(world.decide(peerIdentity: ReservedIdentity.world, request: TestRequest("GET", "/")).allowed)
        XCTAssertFalse(world.decide(peerIdentity: 257, request: TestRequest("GET", "/")).allowed)
    }

    func testNetworkPolicyNamespaceSelectorAndNamedPorts() throws {
        let knp = try Fixtures.example("tutorial/allow-from-frontend.yaml")
        let l7 = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: named, namespace: backend}
            spec:
              endpointSelector: {}
              ingress:
              - fromEntities: [cluster]
                toPorts:
                - ports: [{port: http, protocol: TCP}]
                  rules: {http: [{path: /get}]}
            """
        var endpoints = Fixtures.tutorialEndpoints
        endpoints[1].namedPorts = ["HTTP": 80]
        let snapshot = try compile([knp, l7], endpoints: endpoints)
        let policy = try XCTUnwrap(snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        // frontend (namespace label name=frontend) is allowed everything by the KNP (L4-only);
        // the default-namespace client only gets /get through the cluster entity.
        XCTAssertEqual(
            policy.decide(peerIdentity: 256, request: TestRequest("POST", "/x")).description,
            "allow l4-only-allow backend/allow-from-frontend")
        XCTAssertEqual(
            policy.decide(peerIdentity: 259, request: TestRequest("GET", "/get")).description,
            "allow rule-matched backend/named")
        XCTAssertEqual(
            policy.decide(peerIdentity: 259, request: TestRequest("POST", "/x")).description,
            "deny no-rule-matched backend/named")
        XCTAssertEqual(
            policy.decide(peerIdentity: ReservedIdentity.world, request: TestRequest("GET", "/get")).description,
            "deny peer-not-allowed")
    }

    func testEnableDefaultDenyFalseAllowsUnselectedPeers() throws {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: soft, namespace: backend}
            spec:
              endpointSelector: {}
              enableDefaultDeny: {ingress: false}
              ingress:
              - fromEndpoints: [{}]
                toPorts:
                - ports: [{port: "80", protocol: TCP}]
                  rules: {http: [{method: GET}]}
            """
        let snapshot = try compile([text])
        let policy = try XCTUnwrap(snapshot.httpPolicy(endpointID: 2, direction: .ingress, port: 80))
        XCTAssertEqual(
            policy.decide(peerIdentity: ReservedIdentity.world, request: TestRequest("POST", "/")).description,
            "allow l4-only-allow")
        // 257 is backend itself: same namespace, so selected by `{}`, and its rules apply.
        XCTAssertEqual(
            policy.decide(peerIdentity: 257, request: TestRequest("POST", "/")).description,
            "deny no-rule-matched backend/soft")
    }

    func testCanonicalDump() throws {
        let snapshot = try compile([
            try Fixtures.example("tutorial/backend-http-rules.yaml"),
            try Fixtures.example("blog/ccnp-allow-dns.yaml"),
        ])
        XCTAssertEqual(
            snapshot.canonicalDump(),
            """
            endpoints:
              1 frontend/frontend-6d4b identity 256 [k8s:app=frontend k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=frontend k8s:io.cilium.k8s.namespace.labels.name=frontend k8s:io.cilium.k8s.policy.cluster=default k8s:io.cilium.k8s.policy.serviceaccount=default k8s:io.kubernetes.pod.namespace=frontend]
              2 backend/backend-7f8b identity 257 [k8s:app=backend k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=backend k8s:io.cilium.k8s.namespace.labels.name=backend k8s:io.cilium.k8s.policy.cluster=default k8s:io.cilium.k8s.policy.serviceaccount=default k8s:io.kubernetes.pod.namespace=backend]
              3 database/db-5c6d identity 258 [k8s:app=database k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=database k8s:io.cilium.k8s.namespace.labels.name=database k8s:io.cilium.k8s.policy.cluster=default k8s:io.cilium.k8s.policy.serviceaccount=default k8s:io.kubernetes.pod.namespace=database]
              4 default/curl-test identity 259 [k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=default k8s:io.cilium.k8s.policy.cluster=default k8s:io.cilium.k8s.policy.serviceaccount=default k8s:io.kubernetes.pod.namespace=default k8s:run=curl-test]
            l7Ports:
              endpoint 2 INGRESS 80/TCP http
                allow-all from [1] (-)
                http {method: GET, path: /get} from [256] (backend/backend-http-rules)
                http {method: GET, path: /anything/.*} from [256] (backend/backend-http-rules)

            """)
    }

    func testRejectsSluiceLimitOnL7Ranges() {
        let text = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: wide}
            spec:
              endpointSelector: {}
              ingress:
              - toPorts:
                - ports: [{port: "1000", endPort: 3000, protocol: TCP}]
                  rules: {http: [{}]}
            """
        XCTAssertThrowsError(try PolicyRepository().apply(yamlText: text, fileName: "w.yaml")) { error in
            XCTAssertEqual((error as? LoadError)?.field, "spec.ingress[0].toPorts[0].ports[0].endPort")
        }
    }
}
