import Foundation
import SluiceModel
import XCTest

@testable import Sandbox

/// Which hosts get certificates, for which names, where their secrets go, and the openssl
/// command lines (run for real in SandboxManager+TLSTests).
final class SandboxTLSTests: XCTestCase {
    private let topology = Topology(
        namespaces: [NamespaceSpec(name: "backend")],
        pods: [
            PodSpec(name: "client"),
            PodSpec(
                name: "web", namespace: "backend",
                servers: [ServerSpec(kind: .httpbin, port: 80), ServerSpec(kind: .https, port: 443)]),
            PodSpec(name: "plain", namespace: "backend", servers: [ServerSpec(kind: .httpbin, port: 80)]),
            PodSpec(name: "grpc", namespace: "backend", servers: [ServerSpec(kind: .grpcTLS, port: 50051)]),
        ],
        world: [
            WorldSpec(
                name: "api.example.com", addresses: [IPv4Address(192, 0, 2, 10), IPv4Address(192, 0, 2, 11)],
                servers: [ServerSpec(kind: .https, port: 443)]),
            WorldSpec(name: "plain.example.com", addresses: [IPv4Address(192, 0, 2, 20)]),
        ])

    func testOnlyHostsWithHTTPSServersGetCertificates() throws {
        let tls = SandboxTLS(plan: try SandboxPlan(topology: topology))
        XCTAssertEqual(tls.identities.map(\.owner), ["backend/web", "backend/grpc", "world/api.example.com"])
        XCTAssertNil(tls.identity(owner: "backend/plain"))
        XCTAssertNil(tls.identity(owner: "kube-system/kube-dns"))
    }

    func testPodCertificateNamesAndSecret() throws {
        let tls = SandboxTLS(plan: try SandboxPlan(topology: topology))
        let web = try XCTUnwrap(tls.identity(owner: "backend/web"))
        XCTAssertEqual(
            web.dnsNames, ["web.backend.svc.cluster.local", "web.backend.svc", "web.backend", "web"])
        XCTAssertEqual(web.ipAddresses, ["10.244.1.12"])
        XCTAssertEqual(web.relativeDirectory, "backend/web-tls")
    }

    func testWorldCertificateNamesAndSecret() throws {
        let tls = SandboxTLS(plan: try SandboxPlan(topology: topology))
        let api = try XCTUnwrap(tls.identity(owner: "world/api.example.com"))
        XCTAssertEqual(api.dnsNames, ["api.example.com"])
        XCTAssertEqual(api.ipAddresses, ["192.0.2.10", "192.0.2.11"])
        XCTAssertEqual(api.relativeDirectory, "world/api.example.com-tls")
        XCTAssertEqual(
            tls.secretDirectories,
            ["kube-system/sandbox-ca", "backend/web-tls", "backend/grpc-tls", "world/api.example.com-tls"])
    }

    func testNoHTTPSServersStillHasTheCASecret() throws {
        let tls = SandboxTLS(plan: try SandboxPlan(topology: Topology(pods: [PodSpec(name: "client")])))
        XCTAssertEqual(tls.identities, [])
        XCTAssertEqual(tls.secretDirectories, ["kube-system/sandbox-ca"])
    }

    func testCACommandIsAP256CertificateAuthority() {
        let argv = SandboxTLS.caCommand(directory: "/t")
        XCTAssertEqual(Array(argv.prefix(3)), ["openssl", "req", "-x509"])
        XCTAssertTrue(argv.contains("ec_paramgen_curve:P-256"))
        XCTAssertTrue(argv.contains("basicConstraints=critical,CA:TRUE"))
        XCTAssertEqual(argv.suffix(4), ["-keyout", "/t/ca.key", "-out", "/t/ca.crt"])
    }

    func testCertificateCommandNamesEverySubjectAltName() throws {
        let tls = SandboxTLS(plan: try SandboxPlan(topology: topology))
        let api = try XCTUnwrap(tls.identity(owner: "world/api.example.com"))
        let argv = SandboxTLS.certificateCommand(identity: api, directory: "/t/w", caDirectory: "/t")
        XCTAssertTrue(argv.contains("subjectAltName=DNS:api.example.com,IP:192.0.2.10,IP:192.0.2.11"))
        XCTAssertTrue(argv.contains("basicConstraints=critical,CA:FALSE"))
        XCTAssertTrue(argv.contains("/CN=api.example.com"))
        let ca = try XCTUnwrap(argv.firstIndex(of: "-CA"))
        XCTAssertEqual(argv[ca + 1], "/t/ca.crt")
        XCTAssertEqual(argv[ca + 3], "/t/ca.key")
        XCTAssertEqual(argv.suffix(4), ["-keyout", "/t/w/tls.key", "-out", "/t/w/tls.crt"])
    }

    func testCommonNameFitsX509() throws {
        let long = String(repeating: "a", count: 60)
        let tls = SandboxTLS(
            plan: try SandboxPlan(
                topology: Topology(
                    namespaces: [NamespaceSpec(name: long)],
                    pods: [PodSpec(name: "web", namespace: long, servers: [ServerSpec(kind: .https, port: 443)])],
                    world: [
                        WorldSpec(
                            name: long + ".example.com", addresses: [IPv4Address(192, 0, 2, 1)],
                            servers: [ServerSpec(kind: .https, port: 443)])
                    ])))
        XCTAssertEqual(tls.identities[0].commonName, "web.\(long)", "the FQDN is too long, POD.NS fits")
        XCTAssertEqual(tls.identities[1].commonName, SandboxTLS.fallbackCommonName)
        let argv = SandboxTLS.certificateCommand(identity: tls.identities[1], directory: "/d", caDirectory: "/c")
        XCTAssertTrue(argv.contains("subjectAltName=DNS:\(long).example.com,IP:192.0.2.1"))
    }

    func testTopologyParsesHTTPSServersOnPodsAndWorldHosts() throws {
        let topology = try Topology.parse(
            yaml: """
                pods:
                  - name: web
                    servers: ["https:443", "httpbin:80"]
                world:
                  - name: api.example.com
                    addresses: [192.0.2.10]
                    servers: ["https:443"]
                """)
        XCTAssertEqual(
            topology.pods[0].servers, [ServerSpec(kind: .https, port: 443), ServerSpec(kind: .httpbin, port: 80)])
        XCTAssertEqual(topology.world[0].servers, [ServerSpec(kind: .https, port: 443)])
        XCTAssertEqual(SandboxTLS(plan: try SandboxPlan(topology: topology)).identities.count, 2)
    }

    func testTopologyRejectsHTTPSAndHTTPOnOnePort() {
        XCTAssertThrowsError(
            try Topology.parse(
                yaml: "pods:\n  - name: web\n    servers: [\"https:443\", \"httpbin:443\"]\n", file: "t.yaml")
        ) { error in
            let error = error as? TopologyError
            XCTAssertEqual(error?.field, "pods[0].servers[1]")
            XCTAssertEqual(error?.line, 3)
            XCTAssertEqual(error?.message, "port 443 is used by two servers")
        }
    }

    func testTopologyRejectsAWorldNameTooLongForItsSecret() throws {
        let label = String(repeating: "a", count: 63)
        let name = [label, label, label, String(repeating: "b", count: 61)].joined(separator: ".")
        XCTAssertEqual(name.utf8.count, 253)
        let yaml = "world:\n  - name: \(name)\n    addresses: [192.0.2.1]\n    servers: [\"https:443\"]\n"
        XCTAssertThrowsError(try Topology.parse(yaml: yaml, file: "t.yaml")) { error in
            let error = error as? TopologyError
            XCTAssertEqual(error?.field, "world[0].name")
            XCTAssertTrue(
                error?.message.hasPrefix("too long for a TLS server") ?? false, "\(String(describing: error))")
        }
        let plain = "world:\n  - name: \(name)\n    addresses: [192.0.2.1]\n    servers: [\"httpbin:80\"]\n"
        XCTAssertEqual(try Topology.parse(yaml: plain).world.count, 1, "without TLS the name needs no secret")
    }

    func testTheWalkthroughTopologyGetsItsSecrets() throws {
        let repo = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let topology = try Topology.load(
            path: repo.appendingPathComponent("proxy-config/sandbox/tls.yaml").path)
        XCTAssertEqual(
            SandboxTLS(plan: try SandboxPlan(topology: topology)).secretDirectories,
            [
                "kube-system/sandbox-ca", "backend/backend-tls", "world/api.example.com-tls",
                "world/other.example.org-tls",
            ])
    }

    func testManifestRoundTrip() {
        let created = SandboxTLS.manifest(createdDirectory: true, directories: ["kube-system/sandbox-ca"])
        XCTAssertNil(SandboxTLS.directoriesToRemove(manifest: created), "a directory the sandbox made goes whole")
        let existing = SandboxTLS.manifest(
            createdDirectory: false, directories: ["kube-system/sandbox-ca", "backend/web-tls"])
        XCTAssertEqual(existing, "existing\nkube-system/sandbox-ca\nbackend/web-tls\n")
        XCTAssertEqual(
            SandboxTLS.directoriesToRemove(manifest: existing), ["kube-system/sandbox-ca", "backend/web-tls"])
    }

    func testManifestNeverLeavesTheSecretsDirectory() {
        let hostile = "existing\n/etc\n../x\na/../../b\n./c\nok/d-tls\n\n"
        XCTAssertEqual(SandboxTLS.directoriesToRemove(manifest: hostile), ["ok/d-tls"])
    }
}
