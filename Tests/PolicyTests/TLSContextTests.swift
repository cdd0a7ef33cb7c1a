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

    func testTerminationWithoutRulesIsAnHTTPPortAllowingEverything() throws {
        let snapshot = try TestPolicy.snapshot(policy("      terminatingTLS: {secret: {name: web}}"))
        let http = try XCTUnwrap(snapshot.httpPolicy(endpointID: TestPolicy.clientID, direction: .egress, port: 443))
        XCTAssertEqual(http.interception?.serverNames, [])
        XCTAssertTrue(http.interception?.allows(serverName: nil) ?? false)
    }
}
