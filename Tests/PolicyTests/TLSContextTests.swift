import PolicyYAML
import SluiceTestSupport
import XCTest

@testable import Policy

/// `terminatingTLS`/`originatingTLS` (Cilium's TLSContext): parsing, defaults, validation, and
/// what the compiled HTTP port policy carries.
final class TLSContextTests: XCTestCase {
    private func policy(_ toPort: String, rules: String = "") -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata:
          name: backend-tls
          namespace: default
        spec:
          endpointSelector:
            matchLabels:
              app: client
          egress:
          - toPorts:
            - ports:
              - port: "443"
                protocol: TCP
        \(toPort)\(rules)

        """
    }

    private func error(_ yaml: String) -> String? {
        do {
            try PolicyRepository().apply(yamlText: yaml, fileName: "p.yaml")
            return nil
        } catch {
            return error.description
        }
    }

    func testDefaultsAreCiliumItemNamesAndNamespace() throws {
        let yaml = policy(
            "      terminatingTLS: {secret: {name: web}}\n      originatingTLS:\n        secret: {namespace: kube-system, name: ca}\n        trustedCA: roots.pem"
        )
        let change = try PolicyRepository().prepareApply(
            documents: try PolicyYAML.documents(yaml, fileName: "p.yaml"), fileName: "p.yaml")
        let contexts = change.upserts.flatMap(\.tlsContexts)
        XCTAssertEqual(contexts.count, 2)
        XCTAssertEqual(contexts[0].context, TLSContext(namespace: "default", name: "web"))
        XCTAssertTrue(contexts[0].terminating)
        XCTAssertEqual(contexts[1].context.secretName, "kube-system/ca")
        XCTAssertEqual(contexts[1].context.trustedCA, "roots.pem")
        XCTAssertEqual(contexts[1].context.certificate, "tls.crt")
        XCTAssertFalse(contexts[1].terminating)
    }

    func testValidation() {
        XCTAssertEqual(
            error(policy("      terminatingTLS: {secret: {namespace: x}}")),
            "p.yaml:15:32: spec.egress[0].toPorts[0].terminatingTLS.secret: missing required field \"name\"")
        XCTAssertEqual(
            error(policy("      terminatingTLS: {secret: {name: ../etc}}")),
            "p.yaml:15:39: spec.egress[0].toPorts[0].terminatingTLS.secret.name: secret name must be one path component, got \"../etc\""
        )
        XCTAssertEqual(
            error(policy("      originatingTLS: {secret: {name: a}, trustedCA: a/b}")),
            "p.yaml:15:54: spec.egress[0].toPorts[0].originatingTLS.trustedCA: trustedCA must name an item of the secret, got \"a/b\""
        )
        XCTAssertEqual(
            error(policy("      terminatingTLS: {secret: {name: a}, color: red}")),
            "p.yaml:15:43: spec.egress[0].toPorts[0].terminatingTLS.color: unknown field \"color\"")
        XCTAssertNotNil(
            error(
                policy(
                    "      terminatingTLS: {secret: {name: a}}",
                    rules: "\n      rules:\n        dns: [{matchName: a.b}]")))
    }

    func testCompiledPortCarriesInterceptionAndServerNames() throws {
        let snapshot = try TestPolicy.snapshot(
            policy(
                "      serverNames: [\"*.example.com\"]\n      terminatingTLS: {secret: {name: web}}\n      originatingTLS: {secret: {namespace: kube-system, name: ca}}",
                rules: "\n      rules:\n        http: [{path: \"/allowed\"}]"))
        let http = try XCTUnwrap(snapshot.httpPolicy(endpointID: TestPolicy.clientID, direction: .egress, port: 443))
        let interception = try XCTUnwrap(http.interception)
        XCTAssertEqual(interception.terminating?.secretName, "default/web")
        XCTAssertEqual(interception.originating?.secretName, "kube-system/ca")
        XCTAssertTrue(interception.allows(serverName: "api.example.com"))
        XCTAssertFalse(interception.allows(serverName: "example.org"))
        XCTAssertFalse(interception.allows(serverName: nil))
        XCTAssertTrue(
            http.canonical.contains(
                "tls terminating default/web originating kube-system/ca serverNames [*.example.com]"))
        XCTAssertNil(snapshot.tlsPolicy(endpointID: TestPolicy.clientID, direction: .egress, port: 443))
    }

    func testEachRulesCertificateIsKeptWithItsServerNames() throws {
        let snapshot = try TestPolicy.snapshot(
            policy(
                "      serverNames: [\"*.example.com\"]\n      terminatingTLS: {secret: {name: web}}"
                    + "\n      rules:\n        http: [{path: \"/a\"}]\n    - ports: [{port: \"443\", protocol: TCP}]"
                    + "\n      serverNames: [other.test]\n      terminatingTLS: {secret: {name: other}}"
                    + "\n      rules:\n        http: [{path: \"/b\"}]"))
        let http = try XCTUnwrap(snapshot.httpPolicy(endpointID: TestPolicy.clientID, direction: .egress, port: 443))
        let interception = try XCTUnwrap(http.interception)
        XCTAssertEqual(interception.certificates.map(\.context.secretName), ["default/web", "default/other"])
        XCTAssertEqual(interception.terminating(for: "api.example.com")?.secretName, "default/web")
        XCTAssertEqual(interception.terminating(for: "OTHER.test")?.secretName, "default/other")
        XCTAssertEqual(
            interception.terminating(for: "nobody.test")?.secretName, "default/web",
            "no rule's names: the first rule's certificate (the SNI is refused after the handshake)")
        XCTAssertEqual(interception.terminating(for: nil)?.secretName, "default/web")
        XCTAssertTrue(interception.allows(serverName: "other.test"))
        XCTAssertFalse(interception.allows(serverName: "nobody.test"))
        XCTAssertTrue(
            http.canonical.contains {
                $0.hasSuffix("certificates [*.example.com: default/web, other.test: default/other]")
            },
            http.canonical.joined(separator: "\n"))
    }

    func testARuleWithoutServerNamesServesAnyName() throws {
        let interception = TLSInterception(
            terminating: nil, originating: nil,
            certificates: [
                .init(serverNames: [try ServerNamePattern("a.test")], context: TLSContext(namespace: "n", name: "a")),
                .init(serverNames: [], context: TLSContext(namespace: "n", name: "any")),
            ])
        XCTAssertEqual(interception.terminating(for: "a.test")?.name, "a")
        XCTAssertEqual(interception.terminating(for: "b.test")?.name, "any")
        XCTAssertEqual(interception.terminating(for: nil)?.name, "any")
    }

    func testANameMatchBeatsAnEarlierRuleWithoutServerNames() throws {
        let interception = TLSInterception(
            terminating: nil, originating: nil,
            certificates: [
                .init(serverNames: [], context: TLSContext(namespace: "n", name: "any")),
                .init(serverNames: [try ServerNamePattern("*.a.test")], context: TLSContext(namespace: "n", name: "a")),
                .init(serverNames: [], context: TLSContext(namespace: "n", name: "later")),
            ])
        XCTAssertEqual(interception.terminating(for: "x.a.test")?.name, "a", "the rule naming the SNI, not the first")
        XCTAssertEqual(interception.terminating(for: "b.test")?.name, "any", "the first rule without names")
        XCTAssertEqual(interception.terminating(for: nil)?.name, "any")
    }

    /// proxy-config/examples/tls/intercept-egress.yaml: one intercepted port 443 for two peers,
    /// the backend pod's rule without serverNames (its certificate for any name) and
    /// api.example.com's with its own certificate, both trusting the sandbox CA upstream.
    func testExampleInterceptEgress() throws {
        let s = try PolicyFixtures.compile([try PolicyFixtures.example("tls/intercept-egress.yaml")])
        let http = try XCTUnwrap(s.httpPolicy(endpointID: 1, direction: .egress, port: 443))
        let interception = try XCTUnwrap(http.interception)
        XCTAssertEqual(interception.originating?.secretName, "kube-system/sandbox-ca")
        XCTAssertEqual(
            interception.terminating(for: "backend.backend.svc.cluster.local")?.secretName, "backend/backend-tls")
        XCTAssertEqual(
            interception.terminating(for: "API.example.com")?.secretName, "world/api.example.com-tls",
            "api.example.com's own certificate, though the backend's rule comes first")
        XCTAssertTrue(interception.allows(serverName: "backend.backend.svc.cluster.local"))
        XCTAssertTrue(interception.allows(serverName: nil), "the backend's rule has no serverNames")
    }

    func testTerminationWithoutRulesIsAnHTTPPortAllowingEverything() throws {
        let snapshot = try TestPolicy.snapshot(policy("      terminatingTLS: {secret: {name: web}}"))
        let http = try XCTUnwrap(snapshot.httpPolicy(endpointID: TestPolicy.clientID, direction: .egress, port: 443))
        XCTAssertEqual(http.interception?.serverNames, [])
        XCTAssertTrue(http.interception?.allows(serverName: nil) ?? false)
    }
}
