import XCTest

@testable import Flows

/// Truth tables for `FlowFilter` over the §5.4 example flows:
/// 0 GET /public req, 1 its 200 response, 2 DELETE /admin req (DROPPED), 3 its 403 response, 4 DNS req,
/// 5 DNS resp, 6 DNS req DROPPED, 7 policy verdict, 8 L3/L4 drop.
final class FlowFilterTests: XCTestCase {
    private let flows = FlowFixtures.compactExamples

    private func selected(
        _ options: [(FlowFilter.Option, String)], negated: Bool = false,
        file: StaticString = #filePath, line: UInt = #line
    ) -> [Int] {
        var filter = FlowFilter(negated: negated)
        do {
            for (option, value) in options { try filter.add(option, value) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return flows.indices.filter { filter.matches(flows[$0]) }
    }

    func testEmptyFilterMatchesEverything() {
        XCTAssertEqual(selected([]), Array(0..<9))
        XCTAssertEqual(selected([], negated: true), Array(0..<9))
    }

    func testVerdictValuesAreORed() {
        XCTAssertEqual(selected([(.verdict, "DROPPED")]), [2, 6, 7, 8])
        XCTAssertEqual(selected([(.verdict, "DROPPED"), (.verdict, "FORWARDED")]), Array(0..<9))
        var f = FlowFilter()
        XCTAssertThrowsError(try f.add(.verdict, "dropped"))
    }

    func testPodPrefixWithDefaultNamespace() {
        XCTAssertEqual(selected([(.pod, "client")]), Array(0..<9))
        XCTAssertEqual(selected([(.pod, "coredns")]), [], "no namespace means default")
        XCTAssertEqual(selected([(.pod, "kube-system/core")]), [4, 5, 6])
        XCTAssertEqual(selected([(.toPod, "kube-system/coredns-6f6b")]), [4, 6])
        XCTAssertEqual(selected([(.fromPod, "kube-system/")]), [5])
        XCTAssertEqual(selected([(.fromPod, "default/server"), (.toPod, "client")]), [1, 3])
        XCTAssertEqual(selected([(.pod, "serv")]), [0, 1, 2, 3, 7, 8])
        XCTAssertEqual(selected([(.pod, "serverx")]), [])
    }

    func testNamespaceIsSourceOrDestination() {
        XCTAssertEqual(selected([(.namespace, "kube-system")]), [4, 5, 6])
        XCTAssertEqual(selected([(.fromNamespace, "kube-system")]), [5])
        XCTAssertEqual(selected([(.toNamespace, "kube-system")]), [4, 6])
        XCTAssertEqual(selected([(.namespace, "default")]), Array(0..<9))
        XCTAssertEqual(selected([(.namespace, "other")]), [])
        XCTAssertEqual(selected([(.fromNamespace, "kube-system"), (.fromPod, "coredns")]), [5])
    }

    func testTypeAndProtocol() {
        XCTAssertEqual(selected([(.type, "l7")]), Array(0..<7))
        XCTAssertEqual(selected([(.type, "drop")]), [8])
        XCTAssertEqual(selected([(.type, "policy-verdict")]), [7])
        XCTAssertEqual(selected([(.type, "drop"), (.type, "policy-verdict")]), [7, 8])
        XCTAssertEqual(selected([(.type, "trace:to-proxy")]), [])
        XCTAssertEqual(selected([(.protocol, "http")]), [0, 1, 2, 3])
        XCTAssertEqual(selected([(.protocol, "DNS")]), [4, 5, 6])
        XCTAssertEqual(selected([(.protocol, "udp")]), [4, 5, 6])
        XCTAssertEqual(selected([(.protocol, "tcp"), (.verdict, "DROPPED")]), [2, 7, 8])
    }

    func testHTTPFilters() {
        XCTAssertEqual(selected([(.httpMethod, "delete")]), [2, 3])
        XCTAssertEqual(selected([(.httpPath, "dmi")]), [2, 3], "unanchored search")
        XCTAssertEqual(selected([(.httpPath, "^/pub")]), [0, 1])
        XCTAssertEqual(selected([(.httpPath, "^pub")]), [])
        XCTAssertEqual(selected([(.httpStatus, "403")]), [3])
        XCTAssertEqual(selected([(.httpStatus, "4+")]), [3])
        XCTAssertEqual(selected([(.httpStatus, "40+")]), [3])
        XCTAssertEqual(selected([(.httpStatus, "2+"), (.httpStatus, "403")]), [1, 3])
        XCTAssertEqual(selected([(.httpStatus, "5+")]), [])
        XCTAssertEqual(selected([(.httpURL, "server\\.default/admin$")]), [2, 3])
        var f = FlowFilter()
        XCTAssertThrowsError(try f.add(.httpStatus, "4x"))
        XCTAssertThrowsError(try f.add(.httpPath, "(["))
        var g = FlowFilter()
        XCTAssertNoThrow(try g.add(.type, "drop"))
        XCTAssertThrowsError(try g.add(.httpMethod, "GET"), "HTTP filters need l7 events")
    }

    func testNotInvertsTheWholeFilter() {
        XCTAssertEqual(selected([(.verdict, "DROPPED")], negated: true), [0, 1, 3, 4, 5])
        XCTAssertEqual(
            selected([(.pod, "kube-system/"), (.verdict, "DROPPED")], negated: true),
            [0, 1, 2, 3, 4, 5, 7, 8])
        var whitelist = FlowFilter()
        var blacklist = FlowFilter(negated: true)
        XCTAssertNoThrow(try whitelist.add(.type, "l7"))
        XCTAssertNoThrow(try blacklist.add(.protocol, "dns"))
        XCTAssertEqual(
            flows.indices.filter { whitelist.matches(flows[$0]) && blacklist.matches(flows[$0]) },
            [0, 1, 2, 3])
    }

    func testPortsIPsIdentitiesDirectionLabels() {
        XCTAssertEqual(selected([(.port, "53")]), [4, 5, 6])
        XCTAssertEqual(selected([(.toPort, "8080")]), [7, 8])
        XCTAssertEqual(selected([(.fromPort, "80")]), [1, 3])
        XCTAssertEqual(selected([(.ip, "10.0.0.0/24")]), [4, 5, 6])
        XCTAssertEqual(selected([(.toIP, "10.0.2.45")]), [0, 2, 7, 8])
        XCTAssertEqual(selected([(.fromIP, "10.0.0.0/8"), (.verdict, "DROPPED")]), [2, 6, 7, 8])
        XCTAssertEqual(selected([(.identity, "48125")]), [4, 5, 6])
        XCTAssertEqual(selected([(.fromIdentity, "22411")]), [1, 3])
        XCTAssertEqual(selected([(.trafficDirection, "egress")]), [4, 5, 6])
        XCTAssertEqual(selected([(.label, "k8s-app=kube-dns")]), [4, 5, 6])
        XCTAssertEqual(selected([(.toLabel, "k8s:app=server")]), [0, 2, 7, 8])
        XCTAssertEqual(selected([(.fromLabel, "app in (server, nope)")]), [1, 3])
        XCTAssertEqual(selected([(.label, "reserved:app=server")]), [])
        XCTAssertEqual(selected([(.fromLabel, "app,!k8s-app")]), [0, 1, 2, 3, 4, 6, 7, 8])
        var f = FlowFilter()
        XCTAssertThrowsError(try f.add(.port, "http"))
        XCTAssertThrowsError(try f.add(.ip, "10.0.0.0/33"))
        XCTAssertThrowsError(try f.add(.trafficDirection, "sideways"))
    }

    func testEitherSideOptionsPairPerSideLikeHubble() {
        // left = src pod client AND src port 53 (none); right = dst pod client AND dst port 53 (none).
        XCTAssertEqual(selected([(.pod, "client"), (.port, "53")]), [])
        XCTAssertEqual(selected([(.pod, "kube-system/coredns"), (.port, "53")]), [4, 5, 6])
    }

    func testConflictingOptionsAreRefused() {
        var f = FlowFilter()
        XCTAssertNoThrow(try f.add(.port, "80"))
        XCTAssertThrowsError(try f.add(.toPort, "80")) { error in
            XCTAssertEqual((error as? FlowFilter.Error)?.description, "filters --port and --to-port cannot be combined")
        }
    }
}
