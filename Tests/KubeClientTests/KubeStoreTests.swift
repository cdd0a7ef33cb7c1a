import SluiceJSON
import XCTest

@testable import KubeClient

/// The informer store: watch events, a relist that keeps the old state until it completes and
/// reports the difference, an abandoned relist; and the backoff.
final class KubeStoreTests: XCTestCase {
    private func object(_ name: String, namespace: String? = "n", rv: String, spec: String = "a") -> JSONValue {
        var metadata: [(String, JSONValue)] = [("name", .string(name)), ("resourceVersion", .string(rv))]
        if let namespace { metadata.append(("namespace", .string(namespace))) }
        return .object([("metadata", .object(metadata)), ("spec", .string(spec))])
    }

    func testEventsAndRelist() {
        var store = KubeStore()
        store.beginRelist()
        store.addListed([object("a", rv: "1"), object("b", rv: "2")])
        store.addListed([object("c", namespace: nil, rv: "3"), .object([])])
        XCTAssertEqual(store.objects.count, 0, "nothing in force before the list completes")
        XCTAssertEqual(store.finishRelist(resourceVersion: "3").count, 3)
        XCTAssertEqual(Set(store.objects.keys), ["n/a", "n/b", "c"])
        XCTAssertEqual(store.resourceVersion, "3")

        XCTAssertEqual(
            store.apply(.modified(object("a", rv: "4", spec: "b"))),
            .upsert(key: "n/a", object: object("a", rv: "4", spec: "b")))
        XCTAssertNil(store.apply(.modified(object("a", rv: "4", spec: "b"))), "the same object again changes nothing")
        XCTAssertEqual(store.apply(.deleted(object("b", rv: "5"))), .delete(key: "n/b"))
        XCTAssertNil(store.apply(.deleted(object("zz", rv: "6"))))
        XCTAssertEqual(store.resourceVersion, "6")
        XCTAssertNil(store.apply(.bookmark(resourceVersion: "8")))
        XCTAssertEqual(store.resourceVersion, "8")
        XCTAssertNil(store.apply(.error(code: 410, message: "")))
        XCTAssertEqual(store.resourceVersion, "8")

        // A relist after 410: the old state stays until the new list is complete.
        let before = store.objects
        store.beginRelist()
        XCTAssertTrue(store.isRelisting)
        store.addListed([object("a", rv: "4", spec: "b")])
        XCTAssertEqual(store.objects, before)
        store.addListed([object("d", rv: "9")])
        XCTAssertEqual(
            store.finishRelist(resourceVersion: "9"),
            [.delete(key: "c"), .upsert(key: "n/d", object: object("d", rv: "9"))], "n/a unchanged gives no delta")
        XCTAssertEqual(Set(store.objects.keys), ["n/a", "n/d"])

        // An abandoned relist changes nothing.
        store.beginRelist()
        store.addListed([object("x", rv: "10")])
        store.abandonRelist()
        XCTAssertEqual(Set(store.objects.keys), ["n/a", "n/d"])
        XCTAssertEqual(store.resourceVersion, "9")
        XCTAssertEqual(store.finishRelist(resourceVersion: "11"), [], "no relist running")
        XCTAssertEqual(store.resourceVersion, "9")
    }

    func testBackoffDoublesToTheCapWithJitterAndResets() {
        var backoff = Backoff(initial: 0.5, maximum: 4, jitter: 0.25, seed: 42)
        let bases = [0.5, 1, 2, 4, 4, 4]
        for base in bases {
            let delay = backoff.next()
            XCTAssertLessThanOrEqual(delay, base)
            XCTAssertGreaterThanOrEqual(delay, base * 0.75)
        }
        backoff.reset()
        XCTAssertLessThanOrEqual(backoff.next(), 0.5)
        var exact = Backoff(initial: 1, maximum: 3, jitter: 0)
        XCTAssertEqual((0..<4).map { _ in exact.next() }, [1, 2, 3, 3])
    }
}
