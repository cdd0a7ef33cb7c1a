import Glibc
import Policy
import PolicyYAML
import Proxy
import SluiceAPI
import SluiceIO
import SluiceJSON
import XCTest

@testable import Agent

/// The agent's stored policies: compaction keeps exactly the files that still set an object,
/// and names keep sorting in apply order after removals (real files in a temporary directory).
final class PolicyStoreTests: XCTestCase {
    private func key(_ name: String) -> PolicyKey {
        PolicyKey(kind: .ciliumNetworkPolicy, namespace: "default", name: name)
    }

    func testSupersededFilesAreThoseWhoseObjectsAllComeAgainLater() {
        typealias E = PolicyStore.Entry
        XCTAssertEqual(PolicyStore.superseded([]), [])
        XCTAssertEqual(PolicyStore.superseded([E(name: "1", keys: [key("a")]), E(name: "2", keys: [key("a")])]), ["1"])
        // 1 still sets b, which nothing later sets
        XCTAssertEqual(
            PolicyStore.superseded([E(name: "1", keys: [key("a"), key("b")]), E(name: "2", keys: [key("a")])]), [])
        // covered by the union of two later files
        XCTAssertEqual(
            PolicyStore.superseded([
                E(name: "1", keys: [key("a"), key("b")]), E(name: "2", keys: [key("a")]),
                E(name: "3", keys: [key("b")]),
            ]), ["1"])
        // a file that did not apply at start (unknown keys) is kept and covers nothing
        XCTAssertEqual(
            PolicyStore.superseded([
                E(name: "1", keys: [key("a")]), E(name: "2", keys: nil), E(name: "3", keys: [key("b")]),
            ]), [])
        // the newest file is never superseded; an empty file is
        XCTAssertEqual(PolicyStore.superseded([E(name: "1", keys: []), E(name: "2", keys: [key("a")])]), ["1"])
    }

    /// The stored file is written without a JSON tree of the whole file, and is byte for byte
    /// what the Codable encoding gives: an apply (documents) and a delete (removed keys).
    func testStoredFileIsTheCodableEncoding() throws {
        let documents = try PolicyYAML.documents(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: "a\\"b", namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: "x\ty"}}
              ingress: [{toPorts: [{ports: [{port: "80"}], rules: {http: [{method: GET, path: "/é"}]}}]}]
            """, fileName: "f.yaml")
        for policy in [
            StoredPolicy(file: "dir/\"quoted\".yaml", documents: documents),
            StoredPolicy(file: "<stdin>", documents: [], removed: [StoredKey(key("a")), StoredKey(key("b\n"))]),
            StoredPolicy(file: "", documents: [.scalar("x"), .sequence([])]),
        ] {
            let bytes = try policy.json()
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), try JSON.encodeString(policy))
            let decoded = try JSON.decode(StoredPolicy.self, from: bytes)
            XCTAssertEqual(decoded.file, policy.file)
            XCTAssertEqual(decoded.documents, policy.documents)
            XCTAssertEqual(decoded.removed, policy.removed)
        }
    }

    /// A stored file is written in pieces of about 64 KiB (no buffer of the whole file) and is
    /// the same bytes as `json()`, for a policy of many pieces and for one piece.
    func testStagedFileIsWrittenInPiecesAndIsTheJSON() throws {
        let directory = try NodePolicyTests.temporaryDirectory()
        defer { NodePolicyTests.removeTree(directory) }
        var store = PolicyStore(directory: directory + "/policies")
        let many = StoredPolicy(
            file: "scale.yaml",
            documents: (0..<3_000).map { i in
                .mapping([
                    (key: .scalar("name"), value: .scalar("policy-\(i)")),
                    (key: .scalar("rules"), value: .sequence([.scalar("GET /\(i)")])),
                ])
            })
        let one = StoredPolicy(file: "one.yaml", documents: [.scalar("x")], removed: [StoredKey(key("r"))])
        var pieces: [Int] = []
        try many.encode(pieceBytes: 1 << 16) { pieces.append($0.count) }
        XCTAssertGreaterThan(pieces.count, 3)
        XCTAssertTrue(pieces.dropLast().allSatisfy { $0 >= 1 << 16 && $0 < (1 << 16) + 4096 }, "\(pieces)")
        for policy in [many, one] {
            let name = try store.stage(policy)
            XCTAssertEqual(try Files.read(directory + "/policies/" + name), try policy.json())
            store.commitStaged(name, keys: [key(name)])
        }
    }

    /// A prepared file is not a stored policy until staged (a restart does not read it), and
    /// one dropped without being staged (a failed apply) leaves nothing behind.
    func testPreparedFileCountsOnlyOnceStagedAndGoesWhenDropped() throws {
        let directory = try NodePolicyTests.temporaryDirectory()
        defer { NodePolicyTests.removeTree(directory) }
        var store = PolicyStore(directory: directory + "/policies")
        try store.store(StoredPolicy(file: "a", documents: [.scalar("a")]), keys: [key("a")])
        do {
            let dropped = try store.prepare(StoredPolicy(file: "b", documents: [.scalar("b")]))
            XCTAssertEqual(dropped.name, "000002.json")
            XCTAssertEqual(Files.list(directory + "/policies").count, 2, "the temporary file")
            var reader = PolicyStore(directory: directory + "/policies")
            XCTAssertEqual(try reader.load().map(\.policy.file), ["a"])
        }
        XCTAssertEqual(Files.list(directory + "/policies"), ["000001.json"])
        let prepared = try store.prepare(StoredPolicy(file: "c", documents: [.scalar("c")]))
        let name = try store.stage(prepared)
        store.commitStaged(name, keys: [key("c")])
        XCTAssertEqual(Files.list(directory + "/policies").sorted(), ["000001.json", "000002.json"])
        var reader = PolicyStore(directory: directory + "/policies")
        XCTAssertEqual(try reader.load().map(\.policy.file), ["a", "c"])
    }

    /// A file prepared from the documents' JSON as the client sent it (any spacing) reads back as
    /// the file of those documents, with its name escaped.
    func testAFilePreparedFromTheSentJSONReadsBackAsItsDocuments() throws {
        let directory = try NodePolicyTests.temporaryDirectory()
        defer { NodePolicyTests.removeTree(directory) }
        var store = PolicyStore(directory: directory + "/policies")
        let sent = Array(#"xx[ ["p",1,2,"a"] , ["l",3,4,["p",3,5,"b"]] ]yy"#.utf8)
        let prepared = try store.prepare(file: "dir/\"q\".yaml", documentsJSON: sent[2..<(sent.count - 2)])
        store.commitStaged(try store.stage(prepared), keys: [key("a")])
        var reader = PolicyStore(directory: directory + "/policies")
        let loaded = try reader.load()
        XCTAssertEqual(loaded.map(\.policy.file), ["dir/\"q\".yaml"])
        XCTAssertEqual(
            loaded.first?.policy.documents,
            [.scalar("a", line: 1, column: 2), .sequence([.scalar("b", line: 3, column: 5)], line: 3, column: 4)])
    }

    func testNextNameIsOnePastTheHighest() {
        XCTAssertEqual(PolicyStore.nextName(after: []), "000001.json")
        XCTAssertEqual(PolicyStore.nextName(after: ["000001.json", "000002.json"]), "000003.json")
        // two of three removed: the count would give 000002, which sorts before 000003
        XCTAssertEqual(PolicyStore.nextName(after: ["000003.json"]), "000004.json")
        XCTAssertEqual(PolicyStore.nextName(after: ["000007.yaml", "000002.json", "notes.txt"]), "000008.json")
        XCTAssertEqual(PolicyStore.nextName(after: ["999999.json"]), "1000000.json")
    }

    func testStoringTheSameObjectsAgainKeepsOneFileAndTheOrder() throws {
        var template = Array("/tmp/sluice-store-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let directory = try String(cString: XCTUnwrap(made))
        defer {
            for name in Files.list(directory) { Files.remove(directory + "/" + name) }
            rmdir(directory)
        }
        func policy(_ text: String) -> StoredPolicy {
            StoredPolicy(file: text, documents: [.scalar(text)])
        }
        var store = PolicyStore(directory: directory)
        try store.store(policy("ab"), keys: [key("a"), key("b")])
        try store.store(policy("a"), keys: [key("a")])
        XCTAssertEqual(Files.list(directory).sorted(), ["000001.json", "000002.json"])
        try store.store(policy("ab again"), keys: [key("a"), key("b")])
        XCTAssertEqual(Files.list(directory).sorted(), ["000003.json"])
        try store.store(policy("c"), keys: [key("c")])
        XCTAssertEqual(Files.list(directory).sorted(), ["000003.json", "000004.json"])

        var reloaded = PolicyStore(directory: directory)
        let loaded = try reloaded.load()
        XCTAssertEqual(loaded.map(\.name), ["000003.json", "000004.json"])
        XCTAssertEqual(loaded.map(\.policy.file), ["ab again", "c"])
        XCTAssertEqual(loaded.map(\.policy.documents), [[.scalar("ab again")], [.scalar("c")]])
        // keys are unknown until the agent applied them: nothing is removed before that
        reloaded.compact()
        XCTAssertEqual(Files.list(directory).count, 2)
        reloaded.restored("000003.json", keys: [key("c")])
        reloaded.restored("000004.json", keys: [key("c")])
        reloaded.compact()
        XCTAssertEqual(Files.list(directory), ["000004.json"])
    }

    /// A staged file counts only once committed; a discarded one is gone and the store is as it
    /// was. A temporary file an interrupted write left is not a policy; a broken file is an error.
    /// The temporary file of a write that an agent's end interrupted (any PID) goes at the next
    /// start; stored files and other names stay, and the stored policies read back the same.
    func testInterruptedWritesAreRemovedAndNothingElse() throws {
        let directory = try NodePolicyTests.temporaryDirectory()
        defer { NodePolicyTests.removeTree(directory) }
        let policies = directory + "/policies"
        var store = PolicyStore(directory: policies)
        try store.store(StoredPolicy(file: "a", documents: [.scalar("a")]), keys: [key("a")])
        let interrupted = ["000002.json.tmp.4242", "000002.json.tmp.\(getpid())", "000007.json.tmp.1"]
        let kept = ["000003.json.tmp.", "notes.json.tmp.12", "000004.yaml.tmp.12", "000005.json.tmp.12.old", "README"]
        for name in interrupted + kept { try Files.writeAtomically(policies + "/" + name, Array("{".utf8)) }

        XCTAssertEqual(store.removeInterruptedWrites(), interrupted.sorted())
        XCTAssertEqual(Files.list(policies).sorted(), (["000001.json"] + kept).sorted())
        XCTAssertEqual(store.removeInterruptedWrites(), [], "nothing left to remove")
        var reloaded = PolicyStore(directory: policies)
        XCTAssertEqual(try reloaded.load().map(\.policy.file), ["a"])
        XCTAssertEqual(PolicyStore.nextName(after: Files.list(policies)), "000002.json")
    }

    func testStagedFilesCountOnlyOnceCommittedAndBrokenFilesAreErrors() throws {
        let directory = try NodePolicyTests.temporaryDirectory()
        defer { NodePolicyTests.removeTree(directory) }
        var store = PolicyStore(directory: directory + "/policies")
        try store.store(StoredPolicy(file: "a", documents: [.scalar("a")]), keys: [key("a")])
        let staged = try store.stage(StoredPolicy(file: "b", documents: [.scalar("b")]))
        XCTAssertEqual(staged, "000002.json")
        XCTAssertTrue(store.discard(staged))
        XCTAssertEqual(Files.list(directory + "/policies").sorted(), ["000001.json"])
        XCTAssertEqual(store.entries.map(\.name), ["000001.json"])
        let again = try store.stage(StoredPolicy(file: "a again", documents: [.scalar("a")]))
        store.commitStaged(again, keys: [key("a")])
        XCTAssertEqual(
            Files.list(directory + "/policies").sorted(), ["000002.json"], "the older copy is compacted away")

        try Files.writeAtomically(directory + "/policies/000003.json.tmp.12345", Array("{".utf8))
        var reloaded = PolicyStore(directory: directory + "/policies")
        XCTAssertEqual(try reloaded.load().map(\.policy.file), ["a again"])

        try Files.writeAtomically(directory + "/policies/000004.json", Array("{\"file\": 1}".utf8))
        XCTAssertThrowsError(try reloaded.load()) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix("stored policy \(directory)/policies/000004.json is not a stored policy"),
                "\(error)")
        }
    }
}
