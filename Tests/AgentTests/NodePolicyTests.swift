import Datapath
import Glibc
import Policy
import PolicyYAML
import Proxy
import SluiceAPI
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Agent

/// `NodePolicy.commit` with a real datapath (maps pinned in a test directory, `sluice_policy`
/// made small like `--map-max-entries` does) and real files: a failed install leaves the policy
/// in force in the repository, the proxy's snapshot, the maps and the store; the next apply
/// works and does not carry the failed one. Needs root and bpffs (fails without them).
final class NodePolicyTests: XCTestCase {
    private var stateDirectory = ""
    private var pinDirectory = ""
    private var datapath: Datapath?
    /// Every snapshot handed to the proxy, in order.
    private var published: [PolicySnapshot] = []

    override func setUpWithError() throws {
        stateDirectory = try Self.temporaryDirectory()
        pinDirectory = "/sys/fs/bpf/sluice-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    override func tearDown() {
        datapath?.close()
        try? Datapath.unpinAll(pinDirectory: pinDirectory)
        Self.removeTree(stateDirectory)
    }

    /// A NodePolicy on the test's state directory, with the two test endpoints, a datapath
    /// whose `sluice_policy` holds `policyEntries`, and a proxy that records what it is given.
    private func makePolicy(policyEntries: UInt32 = 64) throws -> NodePolicy {
        let policy = NodePolicy(stateDirectory: stateDirectory)
        policy.endpoints = TestPolicy.endpoints
        let datapath =
            try datapath
            ?? Datapath.open(
                objectDirectory: Self.bpfDirectory(), pinDirectory: pinDirectory,
                mapMaxEntries: ["sluice_policy": policyEntries])
        self.datapath = datapath
        policy.datapath = datapath
        policy.publish = { [unowned self] snapshot in
            published.append(snapshot)
            return true
        }
        return policy
    }

    private func transaction(_ yaml: String, file: String, _ policy: NodePolicy) throws -> PolicyTransaction {
        try PolicyTransaction.apply(
            documents: PolicyYAML.documents(yaml, fileName: file), fileName: file,
            repository: policy.repository)
    }

    /// client -> backend on `ports` (L4 only), as object `name`.
    static func l4(_ name: String, ports: String) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: \(name), namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: backend}}
          ingress:
          - fromEndpoints: [{matchLabels: {app: client}}]
            toPorts:
            - ports: [\(ports)]
        """
    }

    private var storedFiles: [String] {
        Files.list(stateDirectory + "/policies").filter { $0.hasSuffix(".json") }.sorted()
    }

    private func storedText() -> String {
        storedFiles.map {
            String(decoding: Files.readIfPresent(stateDirectory + "/policies/" + $0) ?? [], as: UTF8.self)
        }
        .joined(separator: "\n")
    }

    func testAnInstallThatFailsOnAFullMapLeavesThePolicyInForceEverywhere() throws {
        let policy = try makePolicy(policyEntries: 16)
        _ = try policy.commit(transaction(TestPolicy.yaml(port: 80), file: "http.yaml", policy))
        let snapshot = policy.snapshot
        let maps = try XCTUnwrap(datapath).policyMaps()
        XCTAssertEqual(maps, PolicyMaps(snapshot, hostIPv4: []))
        XCTAssertFalse(maps.l7Ports.isEmpty)
        let listing = policy.repository.listing()
        let files = storedFiles
        XCTAssertEqual(files.count, 1)
        XCTAssertTrue(published.last === snapshot)
        let publishedBefore = published.count

        let wide = try transaction(
            Self.l4("wide", ports: #"{port: "1000", endPort: 1100, protocol: TCP}"#),
            file: "wide.yaml", policy)
        XCTAssertThrowsError(try policy.commit(wide)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.hasPrefix("wide.yaml: not applied, the policy in force is unchanged: "), text)
            XCTAssertTrue(text.contains("sluice_policy is full: it holds 16 entries and the new policy needs"), text)
            XCTAssertTrue(text.contains("Argument list too long"), text)
        }
        XCTAssertEqual(policy.repository.listing(), listing, "repository")
        XCTAssertTrue(policy.snapshot === snapshot, "snapshot")
        XCTAssertEqual(try XCTUnwrap(datapath).policyMaps(), maps, "maps")
        XCTAssertEqual(storedFiles, files, "store")
        XCTAssertEqual(published.count, publishedBefore + 2, "the transition snapshot, then the old one again")
        XCTAssertTrue(published.last === snapshot, "the proxy holds the policy in force")
        XCTAssertNotNil(
            published[publishedBefore].httpPolicy(endpointID: TestPolicy.backendID, direction: .ingress, port: 80),
            "the transition snapshot keeps port 80's rules")

        // The next apply of another good file works and does not install the failed one.
        _ = try policy.commit(
            transaction(Self.l4("other", ports: #"{port: "443", protocol: TCP}"#), file: "other.yaml", policy))
        XCTAssertEqual(policy.repository.keys.map(\.name), ["backend-http", "other"])
        XCTAssertEqual(try XCTUnwrap(datapath).policyMaps(), PolicyMaps(policy.snapshot, hostIPv4: []))
        XCTAssertEqual(storedFiles.count, 2)
        XCTAssertFalse(storedText().contains("wide"))
        XCTAssertTrue(published.last === policy.snapshot)

        // and a restart restores exactly that
        let restarted = NodePolicy(stateDirectory: stateDirectory)
        restarted.endpoints = TestPolicy.endpoints
        try restarted.loadIdentities()
        try restarted.restore()
        XCTAssertEqual(restarted.repository.listing(), policy.repository.listing())
        XCTAssertEqual(PolicyMaps(restarted.snapshot, hostIPv4: []), PolicyMaps(policy.snapshot, hostIPv4: []))
    }

    /// The store is written after the maps; when that fails, the map writes are undone.
    func testAStoreThatCannotBeWrittenUndoesTheMapWrites() throws {
        let policy = try makePolicy()
        _ = try policy.commit(transaction(TestPolicy.yaml(port: 80), file: "http.yaml", policy))
        let snapshot = policy.snapshot
        let maps = try XCTUnwrap(datapath).policyMaps()
        let directory = stateDirectory + "/policies"
        for name in Files.list(directory) { Files.remove(directory + "/" + name) }
        XCTAssertEqual(rmdir(directory), 0)
        try Files.writeAtomically(directory, Array("not a directory".utf8))

        XCTAssertThrowsError(
            try policy.commit(
                transaction(
                    Self.l4("other", ports: #"{port: "443", protocol: TCP}"#),
                    file: "other.yaml", policy))
        ) { error in
            let text = String(describing: error)
            XCTAssertTrue(
                text.hasPrefix("other.yaml: not applied, the policy in force is unchanged: storing the policy: "), text)
        }
        XCTAssertEqual(try XCTUnwrap(datapath).policyMaps(), maps)
        XCTAssertTrue(policy.snapshot === snapshot)
        XCTAssertTrue(published.last === snapshot)
        XCTAssertEqual(policy.repository.keys.map(\.name), ["backend-http"])
    }

    func testAProxyThatDoesNotTakeTheNewPolicyStopsTheInstallBeforeTheMaps() throws {
        let policy = try makePolicy()
        _ = try policy.commit(transaction(TestPolicy.yaml(port: 80), file: "http.yaml", policy))
        let maps = try XCTUnwrap(datapath).policyMaps()
        var calls = 0
        policy.publish = { _ in
            calls += 1
            return calls > 1
        }
        XCTAssertThrowsError(try policy.commit(transaction(TestPolicy.yaml(port: 8080), file: "b.yaml", policy))) {
            error in
            XCTAssertTrue(
                String(describing: error).contains("the proxy workers did not take the new policy"), "\(error)")
        }
        XCTAssertEqual(calls, 2, "the transition snapshot, then the old one again")
        XCTAssertEqual(try XCTUnwrap(datapath).policyMaps(), maps)
        XCTAssertEqual(storedFiles.count, 1)
    }

    // MARK: helpers

    static func bpfDirectory(file: String = #filePath) -> String {
        var parts = file.split(separator: "/").map(String.init)
        parts.removeLast(3)
        return "/" + parts.joined(separator: "/") + "/bpf"
    }

    /// An agent without a datapath (its namespace does not exist; nothing is pinned) whose files
    /// are in `directory`: for the control requests' handler.
    static func agentWithoutDatapath(
        in directory: String, nodeName: String = "test", proxy: ProxyConfig = ProxyConfig()
    ) -> Agent {
        Agent(
            options: Agent.Options(
                netns: "sluice-test-no-such-namespace", endpointsFile: directory + "/endpoints.json",
                stateDirectory: directory + "/state", controlSocket: directory + "/agent.sock",
                bpfObjectDirectory: bpfDirectory(), pinDirectory: "/sys/fs/bpf/sluice-test-unused",
                nodeName: nodeName, proxy: proxy))
    }

    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/sluice-agent-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return try String(cString: XCTUnwrap(made))
    }

    /// Removes a directory with files and directories one level deep.
    static func removeTree(_ path: String) {
        guard !path.isEmpty else { return }
        for name in Files.list(path) {
            let child = path + "/" + name
            for inner in Files.list(child) { Files.remove(child + "/" + inner) }
            if rmdir(child) != 0 { Files.remove(child) }
        }
        rmdir(path)
    }
    /// A delete is one transaction like an apply: the objects leave the repository, the maps and
    /// the proxy; it is stored, so a restart (which re-applies the stored files in order) keeps
    /// them deleted; names that are not in force are reported, not removed.
    func testADeleteRemovesTheObjectsEverywhereAndStaysDeletedAfterARestart() throws {
        let policy = try makePolicy()
        let http = TestPolicy.yaml(port: 80)
        let other = Self.l4("other", ports: #"{port: "443", protocol: TCP}"#)
        _ = try policy.commit(transaction(http, file: "http.yaml", policy))
        _ = try policy.commit(transaction(other, file: "other.yaml", policy))
        XCTAssertEqual(policy.repository.keys.map(\.name), ["backend-http", "other"])

        let keys = try PolicyTransaction.deletionKeys(
            documents: PolicyYAML.documents(http, fileName: "http.yaml"), fileName: "http.yaml",
            names: ["other", "missing"], namespace: "default", repository: policy.repository)
        XCTAssertEqual(keys.found.map(\.name), ["backend-http", "other"])
        XCTAssertEqual(keys.missing, [#"ciliumnetworkpolicy.cilium.io "missing" not found"#])
        let wrongNamespace = try PolicyTransaction.deletionKeys(
            documents: nil, fileName: "", names: ["other"], namespace: "backend", repository: policy.repository)
        XCTAssertEqual(wrongNamespace.found, [])

        let http80 = try XCTUnwrap(keys.found.first)
        _ = try policy.commit(PolicyTransaction.delete(keys: [http80], fileName: "http.yaml"))
        XCTAssertEqual(policy.repository.keys.map(\.name), ["other"])
        XCTAssertEqual(
            PolicyTransaction.deletedLines([http80]), [#"ciliumnetworkpolicy.cilium.io "backend-http" deleted"#])
        XCTAssertTrue(published.last === policy.snapshot)
        XCTAssertNil(policy.snapshot.httpPolicy(endpointID: TestPolicy.backendID, direction: .ingress, port: 80))
        let maps = try XCTUnwrap(datapath).policyMaps()
        XCTAssertEqual(maps, PolicyMaps(policy.snapshot, hostIPv4: []))
        XCTAssertTrue(maps.l7Ports.isEmpty, "port 80 no longer goes to the proxy")

        // an apply interrupted by the agent's end left its temporary file: the restart removes it
        let interrupted = stateDirectory + "/policies/000009.json.tmp.4242"
        try Files.writeAtomically(interrupted, Array(#"{"file":"#.utf8))
        let restarted = NodePolicy(stateDirectory: stateDirectory)
        restarted.endpoints = TestPolicy.endpoints
        try restarted.loadIdentities()
        try restarted.restore()
        XCTAssertFalse(Files.exists(interrupted), "the interrupted write's file")
        XCTAssertEqual(restarted.repository.keys.map(\.name), ["other"])
        XCTAssertEqual(PolicyMaps(restarted.snapshot, hostIPv4: []), maps)

        // applied again after the delete: the newer apply wins at the next restart
        _ = try policy.commit(transaction(http, file: "http.yaml", policy))
        let again = NodePolicy(stateDirectory: stateDirectory)
        again.endpoints = TestPolicy.endpoints
        try again.loadIdentities()
        try again.restore()
        XCTAssertEqual(again.repository.keys.map(\.name), ["backend-http", "other"])
    }

    /// An apply that changes one object among many compiles that object alone and writes only
    /// the map entries it changes (the port it left deleted, the new one added); the same file
    /// again compiles and writes nothing. The maps always equal the snapshot's.
    func testAChangeOfOneObjectAmongManyCompilesItAloneAndWritesOnlyItsEntries() throws {
        let policy = try makePolicy(policyEntries: 1024)
        func file(movingFiveTo port: Int = 1005) -> String {
            (0..<40).map { i in
                Self.l4("l4-\(i)", ports: #"{port: "\#(i == 5 ? port : 1000 + i)", protocol: TCP}"#)
            }.joined(separator: "\n---\n")
        }
        func install(_ text: String) throws -> InstallTiming {
            _ = try policy.commit(transaction(text, file: "many.yaml", policy))
            XCTAssertEqual(try XCTUnwrap(datapath).policyMaps(), PolicyMaps(policy.snapshot, hostIPv4: []))
            return try XCTUnwrap(policy.lastInstall)
        }
        let first = try install(file())
        XCTAssertEqual(first.documents, 40)
        XCTAssertEqual(first.compiledDocuments, 40)
        XCTAssertGreaterThanOrEqual(first.mapWrites, 40)

        let same = try install(file())
        XCTAssertEqual(same.compiledDocuments, 0)
        XCTAssertEqual(same.mapWrites, 0)

        let moved = try install(file(movingFiveTo: 2005))
        XCTAssertEqual(moved.compiledDocuments, 1)
        XCTAssertEqual(moved.mapWrites, 2, "port 1005's entry deleted, port 2005's written")
        XCTAssertTrue(moved.description.contains("(1 of 40 objects)"), moved.description)
        XCTAssertTrue(moved.description.hasSuffix(", 2 written)"), moved.description)
    }
}
