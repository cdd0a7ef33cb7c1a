import Policy
import PolicyYAML
import XCTest

@testable import Agent

/// Transactions before any commit: what `apply` prepares, which keys a delete names (by file or
/// by name, without repeats, kubectl's words for the missing ones), the toFQDNs selectors after a
/// change, and the words of a failed one.
final class PolicyTransactionTests: XCTestCase {
    private static func cnp(_ name: String, namespace: String = "default") -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: \(name), namespace: \(namespace)}
        spec:
          endpointSelector: {}
          egress: [{toFQDNs: [{matchName: \(name).example.com}]}]
        """
    }

    private static let ccnp = """
        apiVersion: cilium.io/v2
        kind: CiliumClusterwideNetworkPolicy
        metadata: {name: a}
        spec:
          endpointSelector: {}
          ingress: [{}]
        """

    private let cnpA = PolicyKey(kind: .ciliumNetworkPolicy, namespace: "default", name: "a")
    private let ccnpA = PolicyKey(kind: .ciliumClusterwideNetworkPolicy, namespace: "", name: "a")

    private func repository() throws -> PolicyRepository {
        let repository = PolicyRepository()
        try repository.apply(yamlText: Self.cnp("a") + "\n---\n" + Self.ccnp, fileName: "in-force.yaml")
        return repository
    }

    private func documents(_ yaml: String) throws -> [PolicyNode] {
        try PolicyYAML.documents(yaml, fileName: "d.yaml")
    }

    func testDeletionKeysByName() throws {
        let repository = try repository()
        let both = try PolicyTransaction.deletionKeys(
            documents: nil, fileName: "", names: ["a", "a"], namespace: "default", repository: repository)
        XCTAssertEqual(Set(both.found), [cnpA, ccnpA])
        XCTAssertEqual(both.found.count, 2, "no repeats")
        XCTAssertEqual(both.missing, [])
        let elsewhere = try PolicyTransaction.deletionKeys(
            documents: nil, fileName: "", names: ["a", "zz"], namespace: "other", repository: repository)
        XCTAssertEqual(elsewhere.found, [ccnpA], "a cluster-wide object matches by name alone")
        XCTAssertEqual(elsewhere.missing, [#"ciliumnetworkpolicy.cilium.io "zz" not found"#])
    }

    func testDeletionKeysOfAFile() throws {
        let repository = try repository()
        let keys = try PolicyTransaction.deletionKeys(
            documents: documents(Self.cnp("a") + "\n---\n" + Self.cnp("b")), fileName: "d.yaml", names: ["a"],
            namespace: "default", repository: repository)
        XCTAssertEqual(keys.found.first, cnpA)
        XCTAssertEqual(Set(keys.found), [cnpA, ccnpA])
        XCTAssertEqual(keys.missing, [#"ciliumnetworkpolicy.cilium.io "b" not found"#])
        XCTAssertThrowsError(
            try PolicyTransaction.deletionKeys(
                documents: documents("kind: Pod"), fileName: "d.yaml", names: [], namespace: "default",
                repository: repository))
    }

    func testApplyPreparesTheChangeItsSelectorsAndWhatToStore() throws {
        let repository = try repository()
        let transaction = try PolicyTransaction.apply(
            documents: documents(Self.cnp("b")), fileName: "b.yaml", repository: repository)
        let cnpB = PolicyKey(kind: .ciliumNetworkPolicy, namespace: "default", name: "b")
        XCTAssertEqual(transaction.fileName, "b.yaml")
        XCTAssertEqual(Array(transaction.fqdnSelectors.keys), [cnpB])
        XCTAssertEqual(transaction.stored?.file, "b.yaml")
        XCTAssertEqual(Set(repository.keys), [cnpA, ccnpA], "nothing changes before the commit")

        let before = [cnpA: try XCTUnwrap(transaction.fqdnSelectors[cnpB])]
        XCTAssertEqual(Set(transaction.applied(to: before).keys), [cnpA, cnpB])
        let delete = PolicyTransaction.delete(keys: [cnpA], fileName: "delete")
        XCTAssertEqual(Array(delete.applied(to: before).keys), [], "a removed object's selectors go")
        XCTAssertEqual(delete.stored?.file, "delete")
        XCTAssertThrowsError(
            try PolicyTransaction.apply(documents: documents("kind: Pod"), fileName: "x.yaml", repository: repository))
    }

    /// Only objects with toFQDNs selectors keep a set: one without any adds no entry, and a
    /// new version of an object that drops its selectors takes its old set away.
    func testObjectsWithoutToFQDNsKeepNoSelectorSet() throws {
        let repository = try repository()
        let cnpB = PolicyKey(kind: .ciliumNetworkPolicy, namespace: "default", name: "b")
        let withSelectors = try PolicyTransaction.apply(
            documents: documents(Self.cnp("b")), fileName: "b.yaml", repository: repository)
        let before = withSelectors.applied(to: [:])
        XCTAssertEqual(Array(before.keys), [cnpB])
        let without = Self.cnp("b").replacingOccurrences(
            of: "egress: [{toFQDNs: [{matchName: b.example.com}]}]", with: "egress: [{toEntities: [world]}]")
        let dropped = try PolicyTransaction.apply(
            documents: documents(without), fileName: "b.yaml", repository: repository)
        XCTAssertTrue(try XCTUnwrap(dropped.fqdnSelectors[cnpB]).isEmpty)
        XCTAssertEqual(Array(dropped.applied(to: before).keys), [], "the old set goes, no empty one stays")
        XCTAssertEqual(Array(dropped.applied(to: [:]).keys), [])
    }

    func testWords() {
        XCTAssertEqual(
            PolicyTransaction.deletedLines([cnpA, ccnpA]),
            [#"ciliumnetworkpolicy.cilium.io "a" deleted"#, #"ciliumclusterwidenetworkpolicy.cilium.io "a" deleted"#])
        XCTAssertEqual(
            PolicyTransactionError(fileName: "p.yaml", reasons: ["one"]).description,
            "p.yaml: not applied, the policy in force is unchanged: one")
        XCTAssertEqual(
            PolicyTransactionError(fileName: "p.yaml", reasons: ["one", "two"], mapsRestored: false).description,
            "p.yaml: not applied; the maps hold part of it, the rest keeps the policy in force:\n  one\n  two")
    }
}
