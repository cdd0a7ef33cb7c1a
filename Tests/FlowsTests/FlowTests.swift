import XCTest

@testable import Flows

/// Flow's own values: timestamps from signed nanoseconds, their order, and policy labels.
final class FlowTests: XCTestCase {
    func testTimestampFromNanosecondsKeepsNanosNonNegative() {
        XCTAssertEqual(
            Flow.Timestamp(nanosecondsSinceEpoch: 1_500_000_001), Flow.Timestamp(seconds: 1, nanos: 500_000_001))
        XCTAssertEqual(Flow.Timestamp(nanosecondsSinceEpoch: 0), Flow.Timestamp())
        XCTAssertEqual(Flow.Timestamp(nanosecondsSinceEpoch: -1), Flow.Timestamp(seconds: -1, nanos: 999_999_999))
        XCTAssertEqual(
            Flow.Timestamp(nanosecondsSinceEpoch: -1_000_000_000), Flow.Timestamp(seconds: -1, nanos: 0))
        XCTAssertEqual(
            Flow.Timestamp(nanosecondsSinceEpoch: -1_500_000_000), Flow.Timestamp(seconds: -2, nanos: 500_000_000))
    }

    func testTimestampOrder() {
        XCTAssertLessThan(Flow.Timestamp(seconds: 1, nanos: 999), Flow.Timestamp(seconds: 2, nanos: 0))
        XCTAssertLessThan(Flow.Timestamp(seconds: 2, nanos: 1), Flow.Timestamp(seconds: 2, nanos: 2))
        XCTAssertFalse(Flow.Timestamp(seconds: 2, nanos: 2) < Flow.Timestamp(seconds: 2, nanos: 2))
    }

    func testPolicyLabelsAsCiliumDerivesThem() {
        XCTAssertEqual(
            Flow.Policy(name: "p", namespace: "backend", kind: "CiliumNetworkPolicy").labels,
            [
                "k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy", "k8s:io.cilium.k8s.policy.name=p",
                "k8s:io.cilium.k8s.policy.namespace=backend",
            ])
        XCTAssertEqual(
            Flow.Policy(name: "all", namespace: "", kind: "CiliumClusterwideNetworkPolicy").labels,
            [
                "k8s:io.cilium.k8s.policy.derived-from=CiliumClusterwideNetworkPolicy",
                "k8s:io.cilium.k8s.policy.name=all",
            ])
        XCTAssertEqual(Flow.Policy(name: "p", namespace: "n", kind: "K", labels: ["x=y"]).labels, ["x=y"])
        XCTAssertEqual(Flow.Emitter.sluice.name, "Sluice")
    }
}
