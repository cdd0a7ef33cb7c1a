import XCTest

@testable import Flows

final class FlowEndpointTests: XCTestCase {
    func testLabelsAreSortedSoEqualEndpointsCompareEqual() {
        let one = FlowEndpoint(
            id: 1, identity: 300, namespace: "default", labels: ["k8s:b=2", "k8s:a=1"], podName: "p")
        let two = FlowEndpoint(
            id: 1, identity: 300, namespace: "default", labels: ["k8s:a=1", "k8s:b=2"], podName: "p")
        XCTAssertEqual(one.labels, ["k8s:a=1", "k8s:b=2"])
        XCTAssertEqual(one, two)
        XCTAssertEqual(FlowEndpoint(), FlowEndpoint(id: 0, identity: 0, namespace: "", labels: [], podName: ""))
    }
}
