import PolicyYAML
import XCTest

@testable import Policy

/// `PolicyDocument.canonical` and the rule/peer lines under it: what `sluice policy get` lists.
final class PolicyDocumentListingTests: XCTestCase {
    func testCanonicalListing() throws {
        let repository = PolicyRepository()
        try repository.apply(yamlText: try Fixtures.example("tutorial/backend-http-rules.yaml"), fileName: "t.yaml")
        try repository.apply(yamlText: try Fixtures.example("tutorial/allow-from-frontend.yaml"), fileName: "k.yaml")
        XCTAssertEqual(
            repository.listing(),
            """
            kind: CiliumNetworkPolicy
            name: backend-http-rules
            namespace: backend
            rules:
            - endpointSelector: {any:app=backend, k8s:io.kubernetes.pod.namespace=backend}
              defaultDeny: {ingress: true, egress: false}
              ingress:
              - endpoints: [{k8s:io.kubernetes.pod.namespace=frontend}]
                ports: [80/TCP] http: [{method: GET, path: /get}, {method: GET, path: /anything/.*}]
            ---
            kind: NetworkPolicy
            name: allow-from-frontend
            namespace: backend
            rules:
            - endpointSelector: {k8s:io.kubernetes.pod.namespace=backend}
              defaultDeny: {ingress: true, egress: false}
              ingress:
              - endpoints: [{k8s:io.cilium.k8s.namespace.labels.name=frontend, k8s:io.cilium.k8s.policy.cluster=default}]
                ports: [80/TCP]

            """)
    }

    func testDenyRulesCIDRExceptsAndANamespacedEmptySelector() throws {
        let repository = PolicyRepository()
        try repository.apply(
            yamlText: """
                apiVersion: cilium.io/v2
                kind: CiliumNetworkPolicy
                metadata: {name: l, namespace: backend}
                spec:
                  endpointSelector: {}
                  egress:
                  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]
                  - toEndpoints: [{}]
                    toPorts: [{ports: [{port: "53", protocol: UDP}]}]
                  ingressDeny:
                  - fromEntities: [world]
                """, fileName: "l.yaml")
        // Rules in the order ingress, ingressDeny, egress, egressDeny; an empty toEndpoints selector
        // is scoped to the policy's namespace (Cilium); deny rules turn default deny on too.
        XCTAssertEqual(
            repository.listing(),
            """
            kind: CiliumNetworkPolicy
            name: l
            namespace: backend
            rules:
            - endpointSelector: {k8s:io.kubernetes.pod.namespace=backend}
              defaultDeny: {ingress: true, egress: true}
              ingressDeny:
              - entities: [world]
                ports: all
              egress:
              - cidrs: [10.0.0.0/8 except 10.1.0.0/16]
                ports: all
              - endpoints: [{k8s:io.kubernetes.pod.namespace=backend}]
                ports: [53/UDP]

            """)
    }
}
