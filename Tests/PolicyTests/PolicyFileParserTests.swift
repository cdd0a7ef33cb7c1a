import PolicyYAML
import SluiceModel
import XCTest

@testable import Policy

final class PolicyFileParserTests: XCTestCase {
    /// Every example policy written from the seeds parses.
    func testEverySeedExampleParses() throws {
        let files = [
            "tutorial/default-deny-ingress.yaml", "tutorial/allow-from-frontend.yaml",
            "tutorial/backend-http-rules.yaml", "tutorial/allow-dns-egress.yaml",
            "blog/cnp-default-deny.yaml", "blog/cnp-deny-all.yaml", "blog/ccnp-allow-dns.yaml",
            "blog/cnp-ns-dns.yaml", "blog/cnp-front-to-back.yaml", "blog/cnp-front-to-back-l7.yaml",
            "blog/cnp-back-to-db.yaml", "homelab/default-deny-ingress.yaml", "homelab/allow-dns-egress.yaml",
            "homelab/allow-get-only.yaml", "reference/network-policies.yaml", "reference/allow-get-api-only.yaml",
            "reference/allow-external-dns.yaml",
        ]
        let repository = PolicyRepository()
        var count = 0
        for file in files {
            let text = try Fixtures.example(file)
            do {
                count += try repository.apply(yamlText: text, fileName: file).changes.count
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertEqual(count, 26)
        // Same-named objects from two files replace each other, like kubectl apply.
        XCTAssertEqual(repository.keys.count, 24)
        XCTAssertTrue(
            repository.keys.contains(
                PolicyKey(kind: .ciliumNetworkPolicy, namespace: "default", name: "allow-get-only")))
        XCTAssertTrue(
            repository.keys.contains(
                PolicyKey(kind: .ciliumClusterwideNetworkPolicy, namespace: "", name: "allow-coredns-egress")))
    }

    func testApplyReportsLikeKubectl() throws {
        let repository = PolicyRepository()
        let text = try Fixtures.example("tutorial/backend-http-rules.yaml")
        XCTAssertEqual(
            try repository.apply(yamlText: text, fileName: "a.yaml").description,
            "ciliumnetworkpolicy.cilium.io/backend-http-rules created")
        XCTAssertEqual(
            try repository.apply(yamlText: text, fileName: "a.yaml").description,
            "ciliumnetworkpolicy.cilium.io/backend-http-rules unchanged")
        let changed = text.replacingOccurrences(of: "/get", with: "/headers")
        XCTAssertEqual(
            try repository.apply(yamlText: changed, fileName: "a.yaml").description,
            "ciliumnetworkpolicy.cilium.io/backend-http-rules configured")
        XCTAssertTrue(repository.delete(kind: .ciliumNetworkPolicy, namespace: "backend", name: "backend-http-rules"))
        XCTAssertTrue(repository.keys.isEmpty)
    }

    func testApplyIsAtomic() throws {
        let repository = PolicyRepository()
        let good = try Fixtures.example("tutorial/backend-http-rules.yaml")
        let bad =
            good + "---\n"
            + good.replacingOccurrences(of: "protocol: TCP", with: "protocol: UDP")
            .replacingOccurrences(of: "backend-http-rules", with: "other")
        XCTAssertThrowsError(try repository.apply(yamlText: bad, fileName: "bad.yaml"))
        XCTAssertTrue(repository.keys.isEmpty)
    }

    func testNamespaceIsAddedToSelectors() throws {
        let repository = PolicyRepository()
        try repository.apply(yamlText: try Fixtures.example("blog/cnp-front-to-back.yaml"), fileName: "f.yaml")
        let listing = repository.listing()
        XCTAssertTrue(
            listing.contains("endpointSelector: {k8s:app=api, k8s:io.kubernetes.pod.namespace=backend}"), listing)
        XCTAssertTrue(listing.contains("endpointSelector: {k8s:io.kubernetes.pod.namespace=frontend}"), listing)
    }

    /// Objects of one file that select the same pods keep one selector (the first parsed; the
    /// others share its requirements instead of keeping equal copies), and selectors that
    /// differ stay apart.
    func testObjectsSelectingTheSamePodsShareOneSelector() throws {
        func cnp(_ name: String, peer: String) -> String {
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: \(name), namespace: backend}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: \(peer)}}]
            """
        }
        let text = [cnp("a", peer: "one"), cnp("b", peer: "one"), cnp("c", peer: "two")].joined(separator: "\n---\n")
        let documents = try PolicyFileParser.parse(
            documents: PolicyYAML.documents(text, fileName: "s.yaml"), fileName: "s.yaml"
        ).documents
        func storage(_ selector: LabelSelector?) -> UnsafeRawPointer? {
            selector?.requirements.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        }
        let subjects = documents.map { storage($0.rules[0].subject) }
        let peers = documents.map { storage($0.rules[0].ingress[0].peers.endpoints[0]) }
        XCTAssertEqual(Set(subjects.compactMap { $0 }).count, 1, "one subject selector for the three objects")
        XCTAssertEqual(peers[0], peers[1])
        XCTAssertNotEqual(peers[0], peers[2])
        XCTAssertEqual(
            documents[2].rules[0].ingress[0].peers.endpoints[0].requirements.map(\.canonical),
            ["any:app=two", "k8s:io.kubernetes.pod.namespace=backend"])
        XCTAssertEqual(
            documents[1].rules[0].subject?.requirements.map(\.canonical),
            ["any:app=backend", "k8s:io.kubernetes.pod.namespace=backend"])
    }
}
