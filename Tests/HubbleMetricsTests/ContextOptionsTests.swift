import Flows
import XCTest

@testable import HubbleMetrics

final class ContextOptionsTests: XCTestCase {
    private func options(_ s: String) throws -> ContextOptions {
        try ContextOptions(MetricsConfig.parseOptions(s))
    }

    func testLabelsContextKeepsHubblesOrder() throws {
        let c = try options("labelsContext=traffic_direction,source_namespace,source_ip,destination_app")
        XCTAssertEqual(c.labelNames, ["source_ip", "source_namespace", "destination_app", "traffic_direction"])
        XCTAssertEqual(
            c.labelValues(FlowFixtures.tcpTrace(.syn)), ["10.244.0.11", "default", "api", "egress"])
        XCTAssertEqual(
            c.labelValues(FlowFixtures.tcpTrace(.syn), invert: true), ["10.244.1.12", "prod", "client", "egress"])
    }

    func testSourceAndDestinationTakeTheFirstNonEmptyIdentifier() throws {
        let c = try options("sourceContext=dns|pod;destinationContext=reserved-identity|namespace")
        XCTAssertEqual(c.labelNames, ["source", "destination"])
        XCTAssertEqual(c.labelValues(FlowFixtures.tcpTrace(.syn)), ["default/client-7d9f8b-xk2lp", "prod"])
        XCTAssertEqual(
            c.labelValues(FlowFixtures.tcpTrace(.syn, destination: FlowFixtures.world)),
            ["default/client-7d9f8b-xk2lp", "reserved:world"])
        XCTAssertEqual(c.status, "destination=reserved-identity|namespace,source=dns|pod")
    }

    func testDirectionalContextsOverrideForTheirDirection() throws {
        let c = try options("sourceContext=namespace;sourceIngressContext=pod-name;destinationContext=ip")
        XCTAssertEqual(c.labelValues(FlowFixtures.tcpTrace(.syn, direction: .egress)), ["default", "10.244.1.12"])
        XCTAssertEqual(
            c.labelValues(FlowFixtures.tcpTrace(.syn, direction: .ingress)), ["client-7d9f8b-xk2lp", "10.244.1.12"])
    }

    func testIdentifiersAndHelpers() {
        let f = FlowFixtures.tcpTrace(.syn)
        XCTAssertEqual(
            ContextOptions.value(.identity, f, source: true), "k8s:app=client,k8s:io.kubernetes.pod.namespace=default")
        XCTAssertEqual(ContextOptions.value(.podShort, f, source: true), "default/client")
        XCTAssertEqual(ContextOptions.value(.app, f, source: false), "api")
        XCTAssertEqual(ContextOptions.value(.workloadName, f, source: false), "")
        XCTAssertEqual(ContextOptions.shortPodName("coredns-5d78c9869d-abcde"), "coredns")
        XCTAssertEqual(ContextOptions.shortPodName("my-app"), "my")
        XCTAssertEqual(ContextOptions.shortPodName("server"), "server")
        XCTAssertEqual(ContextOptions.shortPodName("a-b-c-d"), "a-b")
        XCTAssertEqual(
            ContextOptions.reservedIdentity(["reserved:world", "reserved:kube-apiserver"]), "reserved:kube-apiserver")
        XCTAssertEqual(ContextOptions.reservedIdentity(["k8s:a=b"]), "")
    }

    func testRefusals() {
        XCTAssertThrowsError(try options("labelsContext=source_ip,nope")) {
            XCTAssertEqual(($0 as? MetricsConfig.ConfigError)?.description, "invalid labelsContext value: nope")
        }
        XCTAssertThrowsError(try options("sourceContext=pod|galaxy")) {
            XCTAssertEqual(($0 as? MetricsConfig.ConfigError)?.description, "unknown context 'galaxy'")
        }
    }
}
