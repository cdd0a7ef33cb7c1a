import XCTest

@testable import Flows

/// `--print-policy-names` (hubble's printer `WithPolicyNames`): a policy-verdict flow's verdict
/// is followed by ` BY name (Kind), name (Kind)` of the policies of its direction, in compact,
/// dict and table output; other flows and the plain output are unchanged.
final class FlowPrinterPolicyNamesTests: XCTestCase {
    private let f = FlowFixtures.self

    private func verdictFlow(_ verdict: Flow.Verdict, direction: Flow.TrafficDirection) -> Flow {
        var c = f.common(verdict, from: f.client, 43212, to: f.server, 8080, time: f.mono(seconds: 2, millis: 500))
        c.tcpFlags = .syn
        c.direction = direction
        c.eventType = Flow.EventType.policyVerdict
        c.isReply = false
        return f.record { FlowRecordWriter.writeL3L4($0, common: c) }.1
    }

    private let cnp = Flow.Policy(name: "allow-db", namespace: "default", kind: "CiliumNetworkPolicy")
    private let ccnp = Flow.Policy(name: "base", namespace: "", kind: "CiliumClusterwideNetworkPolicy")

    func testAllowedAndDeniedNamesInCompactDictAndTable() {
        var allowed = verdictFlow(.forwarded, direction: .egress)
        allowed.egressAllowedBy = [cnp, ccnp]
        allowed.ingressAllowedBy = [Flow.Policy(name: "other-direction", namespace: "x", kind: "NetworkPolicy")]
        let zone = PrintTimeZone.utc
        XCTAssertEqual(
            FlowPrinter.compact(allowed, timeZone: zone, printPolicyNames: true),
            "Aug  1 10:00:02.500: default/client-7d9f:43212 (ID:11231) -> default/server-5c6b:8080 (ID:22411) "
                + "policy-verdict:none EGRESS ALLOWED BY allow-db (CiliumNetworkPolicy), base (CiliumClusterwideNetworkPolicy) "
                + "(TCP Flags: SYN)")
        XCTAssertFalse(FlowPrinter.compact(allowed, timeZone: zone).contains(" BY "), "off without the option")
        XCTAssertTrue(
            FlowPrinter.dict(allowed, timeZone: zone, printPolicyNames: true).contains(
                "    VERDICT: ALLOWED BY allow-db (CiliumNetworkPolicy), base (CiliumClusterwideNetworkPolicy)\n"))
        XCTAssertEqual(
            FlowPrinter.tableRow(allowed, timeZone: zone, printPolicyNames: true)[4],
            "ALLOWED BY allow-db (CiliumNetworkPolicy), base (CiliumClusterwideNetworkPolicy)")

        var denied = verdictFlow(.dropped, direction: .ingress)
        denied.ingressDeniedBy = [Flow.Policy(name: "deny-all", namespace: "default", kind: "CiliumNetworkPolicy")]
        XCTAssertTrue(
            FlowPrinter.compact(denied, timeZone: zone, printPolicyNames: true).contains(
                "policy-verdict:none INGRESS DENIED BY deny-all (CiliumNetworkPolicy) (TCP Flags: SYN)"))
    }

    func testOnlyPolicyVerdictFlowsAndOnlyNamedPoliciesWithAKind() {
        var none = verdictFlow(.forwarded, direction: .ingress)
        none.ingressAllowedBy = [Flow.Policy(name: "no-kind", namespace: "default", kind: "")]
        XCTAssertTrue(
            FlowPrinter.compact(none, printPolicyNames: true).contains(" ALLOWED (TCP"),
            "a policy without a kind is not printed, and no BY either")
        var request = f.http(
            f.common(.forwarded, from: f.client, 43210, to: f.server, 80, time: f.mono(millis: 0)), .request,
            method: "GET", path: "/")
        request.ingressAllowedBy = [cnp]
        XCTAssertFalse(
            FlowPrinter.compact(request, printPolicyNames: true).contains(" BY "),
            "hubble prints names on policy-verdict flows only")
    }
}
