import Foundation
import SluiceJSON
import SluiceTestSupport
import XCTest

@testable import KubeClient

/// Cluster-wide identities against the fake API server with the SluiceIdentity CRD: two
/// allocators ("nodes") racing on the same label sets agree on every number; a restarted
/// allocator reuses the numbers; GC deletes an unused identity after the grace period and never
/// one in use; with the API server away, known identities resolve and a new one fails clearly.
final class ClusterIdentitiesTests: XCTestCase {
    private var server: FakeAPIServer!
    private var config: KubeConfig!
    private var started: [ClusterIdentities] = []

    override func setUpWithError() throws {
        server = try FakeAPIServer(["--load", FakeAPIServer.root + "/deploy/01-sluice-identity-crd.yaml"])
        config = try KubeConfig.load(path: server.dir + "/kubeconfig")
    }

    override func tearDown() {
        started.forEach { $0.stop() }
        server?.close()
    }

    private func options(grace: Double = 900, renew: Double = 300, gc: Bool = false) -> ClusterIdentities.Options {
        var o = ClusterIdentities.Options()
        o.grace = grace
        o.renewInterval = renew
        o.gcInterval = 0.1
        o.collectGarbage = gc
        o.backoff = Backoff(initial: 0.05, maximum: 0.3)
        return o
    }

    private func node(_ name: String, _ options: ClusterIdentities.Options, start: Bool = true) throws
        -> ClusterIdentities
    {
        let client = try HTTPSClient(config: config)
        client.connectTimeout = 2
        let identities = ClusterIdentities(client: client, nodeName: name, options: options)
        if start {
            identities.start()
            started.append(identities)
            XCTAssertTrue(identities.waitForSync(timeout: 10), "\(name) listed the identities")
        }
        return identities
    }

    /// The identity objects in the API: number → (labels, annotations).
    private func apiIdentities() throws -> [UInt32: (labels: [String], holders: [String: Int64])] {
        let (status, body) = try HTTPSClient(config: config).getAll(
            ClusterIdentitiesModel.resourcePath, shouldStop: { false })
        XCTAssertEqual(status, 200)
        guard case .array(let items)? = try JSONValue.parse(body)["items"] else {
            throw KubeTestError("list without items")
        }
        var out: [UInt32: (labels: [String], holders: [String: Int64])] = [:]
        for item in items {
            let entry = try XCTUnwrap(ClusterIdentitiesModel.entry(item))
            out[entry.number] = (entry.labels, entry.holders)
        }
        return out
    }

    private func labelSets(_ count: Int) -> [[String]] {
        (0..<count).map { i in
            ["k8s:io.kubernetes.pod.namespace=ns\(i % 3)", "k8s:app=app\(i)", "k8s:tier=t\(i % 2)"]
        }
    }

    func testTwoNodesRacingAgreeOnEveryNumber() throws {
        let n1 = try node("n1", options())
        let n2 = try node("n2", options())
        let sets = labelSets(40)
        var results: [[UInt32]] = [[], []]
        var errors: [String] = []
        let lock = NSLock()
        // Both nodes allocate every set at the same time, in opposite orders for half of them
        // and the same order for the other half (the same number raced for by both).
        DispatchQueue.concurrentPerform(iterations: 2) { which in
            let identities = which == 0 ? n1 : n2
            var numbers = [UInt32](repeating: 0, count: sets.count)
            let order = which == 0 ? Array(sets.indices) : Array(sets.indices.prefix(20).reversed()) + Array(20..<40)
            for i in order {
                do {
                    numbers[i] = try identities.identity(forLabels: sets[i])
                } catch {
                    lock.lock()
                    errors.append("\(error)")
                    lock.unlock()
                }
            }
            lock.lock()
            results[which] = numbers
            lock.unlock()
        }
        XCTAssertEqual(errors, [])
        XCTAssertEqual(results[0], results[1], "both nodes agree on every label set's number")
        XCTAssertEqual(Set(results[0]).count, sets.count, "distinct label sets, distinct numbers")
        for number in results[0] { XCTAssertTrue(ClusterIdentitiesModel.range.contains(number), "\(number)") }

        // The API holds exactly one object per set, with its labels, stamped by both nodes.
        let api = try apiIdentities()
        XCTAssertEqual(api.count, sets.count)
        for (i, number) in results[0].enumerated() {
            XCTAssertEqual(api[number]?.labels, ClusterIdentitiesModel.normalized(sets[i]))
            XCTAssertEqual(Set(api[number].map { Array($0.holders.keys) } ?? []), ["n1", "n2"])
        }
        // The caches converge on the API's state; labels(of:) answers both ways.
        try poll("both caches hold every identity") { n1.snapshot().count == 40 && n2.snapshot().count == 40 }
        XCTAssertEqual(n1.snapshot(), n2.snapshot())
        XCTAssertEqual(n2.labels(of: results[0][7]), ClusterIdentitiesModel.normalized(sets[7]))
        // Order and duplicates of the labels do not matter; a second acquire is a reference.
        XCTAssertEqual(try n1.identity(forLabels: sets[3].reversed() + [sets[3][0]]), results[0][3])
        XCTAssertEqual(n1.heldIdentities()[ClusterIdentitiesModel.canonicalKey(sets[3])]?.references, 2)
    }

    /// A node whose cache missed a lower number for the same labels (its watch not started here)
    /// creates its probe's number, finds the lower one by the label hash, deletes its own and
    /// answers the lower: the lowest number wins.
    func testALowerDuplicateWins() throws {
        let labels = ["k8s:app=dup", "k8s:io.kubernetes.pod.namespace=default"]
        let key = ClusterIdentitiesModel.canonicalKey(labels)
        let probe = ClusterIdentitiesModel.probe(key, attempt: 0)
        let lower: UInt32 = probe == 256 ? 257 : 256
        XCTAssertLessThan(lower, probe)
        let first = ClusterIdentitiesModel.object(number: lower, labels: labels, node: "other", nowMillis: 1)
        XCTAssertEqual(
            try server.request(
                "POST", ClusterIdentitiesModel.resourcePath, body: String(decoding: first.serialized(), as: UTF8.self)),
            201)
        let blind = try node("n1", options(), start: false)
        XCTAssertEqual(try blind.identity(forLabels: labels), lower)
        XCTAssertEqual(Array(try apiIdentities().keys), [lower], "the duplicate at \(probe) was deleted")

        // A watching node answers the lowest of two duplicates in its cache.
        let second = ClusterIdentitiesModel.object(number: probe, labels: labels, node: "other", nowMillis: 1)
        XCTAssertEqual(
            try server.request(
                "POST", ClusterIdentitiesModel.resourcePath, body: String(decoding: second.serialized(), as: UTF8.self)),
            201)
        let watching = try node("n2", options())
        try poll("both duplicates cached") { watching.snapshot().count == 2 }
        XCTAssertEqual(watching.lookup(labels: labels), lower)
        XCTAssertEqual(try watching.identity(forLabels: labels), lower)
    }

    /// A number taken by other labels is skipped: the next probe is created.
    func testATakenNumberIsProbedPast() throws {
        let labels = ["k8s:app=probe"]
        let key = ClusterIdentitiesModel.canonicalKey(labels)
        let first = ClusterIdentitiesModel.probe(key, attempt: 0)
        let other = ClusterIdentitiesModel.object(number: first, labels: ["k8s:app=squatter"], node: "x", nowMillis: 1)
        XCTAssertEqual(
            try server.request(
                "POST", ClusterIdentitiesModel.resourcePath, body: String(decoding: other.serialized(), as: UTF8.self)),
            201)
        // Not watching: the create meets 409, the read shows other labels, the next number wins.
        let blind = try node("n1", options(), start: false)
        XCTAssertEqual(try blind.identity(forLabels: labels), ClusterIdentitiesModel.probe(key, attempt: 1))
        XCTAssertEqual(try apiIdentities()[first]?.labels, ["k8s:app=squatter"], "the squatter is untouched")
    }

    func testARestartedNodeReusesItsNumbers() throws {
        let sets = labelSets(10)
        let before = try node("n1", options())
        let numbers = try sets.map { try before.identity(forLabels: $0) }
        before.stop()
        started.removeAll()
        let objects = try apiIdentities()
        let after = try node("n1", options())
        XCTAssertEqual(try sets.map { try after.identity(forLabels: $0) }, numbers)
        XCTAssertEqual(Set(try apiIdentities().keys), Set(objects.keys), "no identity was made again")
    }

    func testGCDeletesAnUnusedIdentityAfterTheGraceAndNeverOneInUse() throws {
        let grace = 1.5
        let user = try node("n1", options(grace: grace, renew: 0.3))
        let collector = try node("n2", options(grace: grace, renew: 0.3, gc: true))
        let kept = try user.identity(forLabels: ["k8s:app=kept"])
        let dropped = try user.identity(forLabels: ["k8s:app=dropped"])
        // An identity nobody ever stamped (made by hand): garbage `grace` after n2 first saw it.
        let orphan = ClusterIdentitiesModel.object(number: 60000, labels: ["k8s:app=orphan"], node: "x", nowMillis: 0)
        var unstamped = orphan
        if case .object(var members) = orphan, case .object(var meta)? = orphan["metadata"] {
            meta.removeAll { $0.0 == "annotations" }
            members = members.map { $0.0 == "metadata" ? ("metadata", .object(meta)) : $0 }
            unstamped = .object(members)
        }
        XCTAssertEqual(
            try server.request(
                "POST", ClusterIdentitiesModel.resourcePath,
                body: String(decoding: unstamped.serialized(), as: UTF8.self)), 201)
        let released = Date()
        user.release(labels: ["k8s:app=dropped"])

        try poll("the released identity collected", deadline: 15) { try apiIdentities()[dropped] == nil }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(released), grace - 0.35, "not before the grace period")
        try poll("the unstamped identity collected", deadline: 15) { try apiIdentities()[60000] == nil }
        XCTAssertEqual(collector.collectedCount.deleted, 2)
        // The one in use survives many GC passes over more than twice the grace period, its
        // stamp renewed all along.
        let passes = collector.collectedCount.passes
        let start = Date()
        try poll("GC passes over twice the grace", deadline: 20) {
            collector.collectedCount.passes >= passes + 10 && Date().timeIntervalSince(start) > 2 * grace
        }
        let api = try apiIdentities()
        XCTAssertNotNil(api[kept], "the identity in use was never collected")
        let stampAge = Int64(Date().timeIntervalSince1970 * 1000) - (api[kept]?.holders["n1"] ?? 0)
        XCTAssertLessThan(stampAge, Int64(grace * 1000), "its stamp is renewed")
        XCTAssertEqual(collector.collectedCount.deleted, 2)
        XCTAssertEqual(user.lookup(labels: ["k8s:app=kept"]), kept)
        try poll("n1's cache saw the deletions") { user.lookup(labels: ["k8s:app=dropped"]) == nil }
    }

    func testAnUnreachableAPIServerKeepsKnownIdentitiesAndFailsNewOnesClearly() throws {
        let n1 = try node("n1", options(renew: 0.2))
        let n2 = try node("n2", options())
        let mine = try n1.identity(forLabels: ["k8s:app=mine"])
        let theirs = try n2.identity(forLabels: ["k8s:app=theirs"])
        try poll("n1 caches n2's identity") { n1.lookup(labels: ["k8s:app=theirs"]) == theirs }

        try server.controlAction("stop")
        XCTAssertEqual(try n1.identity(forLabels: ["k8s:app=mine"]), mine, "held")
        XCTAssertEqual(try n1.identity(forLabels: ["k8s:app=theirs"]), theirs, "cached, stamped later")
        XCTAssertEqual(n1.labels(of: theirs), ["k8s:app=theirs"])
        XCTAssertThrowsError(try n1.identity(forLabels: ["k8s:app=new"])) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("API server unreachable"), text)
            XCTAssertTrue(text.contains("k8s:app=new"), text)
        }
        XCTAssertNil(n1.lookup(labels: ["k8s:app=new"]))

        // Back: the stamp missed while away is written, and a new set allocates.
        try server.controlAction("start")
        try poll("n1's stamp on n2's identity") { try apiIdentities()[theirs]?.holders["n1"] != nil }
        let new = try n1.identity(forLabels: ["k8s:app=new"])
        try poll("n2 sees the new identity") { n2.lookup(labels: ["k8s:app=new"]) == new }
    }
}

extension ClusterIdentitiesTests {
    /// The agent's form: the numbers of exactly the sets asked, the sets no longer asked released
    /// (no longer stamped, so GC collects them), and a failure releases nothing.
    func testIdentitiesForTheSetsAskedReleasesTheRest() throws {
        let n1 = try node("n1", options(grace: 1, renew: 0.2))
        let collector = try node("n2", options(grace: 1, renew: 0.2, gc: true))
        let a = ["k8s:app=a"]
        let b = ["k8s:app=b", "k8s:io.kubernetes.pod.namespace=x"]
        let first = try n1.identities(for: [a, b, b.reversed()])
        XCTAssertEqual(first.count, 3)
        XCTAssertEqual(first[b], first[b.reversed()])
        XCTAssertEqual(try n1.identities(for: [a, b]), [a: first[a]!, b: first[b]!], "stable")
        XCTAssertEqual(n1.heldIdentities().count, 2)

        XCTAssertEqual(try n1.identities(for: [b]), [b: first[b]!])
        XCTAssertEqual(Set(n1.heldIdentities().values.map(\.number)), [first[b]!], "a released")
        try poll("a collected", deadline: 15) { try apiIdentities()[first[a]!] == nil }
        XCTAssertNotNil(try apiIdentities()[first[b]!])
        XCTAssertEqual(collector.collectedCount.deleted, 1)

        try server.controlAction("stop")
        XCTAssertThrowsError(try n1.identities(for: [["k8s:app=c"]]))
        XCTAssertEqual(Set(n1.heldIdentities().values.map(\.number)), [first[b]!], "nothing released")
        XCTAssertEqual(try n1.identities(for: [b]), [b: first[b]!], "held: answered while away")
    }
}
