import XCTest

@testable import Flows

/// The `hubble observe` v1.19 additions: new filters, table output, time layouts, `--since`/`--until`
/// times and UUIDs (reading exported JSON back: `FlowJSONDecodeTests`). Flows are the §5.4 examples (see `FlowFilterTests`):
/// 0 GET req, 1 its response, 2 DELETE req (DROPPED), 3 its 403, 4 DNS req, 5 DNS resp,
/// 6 DNS req DROPPED, 7 policy verdict (SYN), 8 L3/L4 drop (SYN).
final class ObserveCLITests: XCTestCase {
    private let flows = FlowFixtures.compactExamples

    private func selected(
        _ options: [(FlowFilter.Option, String)], in flows: [Flow]? = nil,
        file: StaticString = #filePath, line: UInt = #line
    ) -> [Int] {
        let flows = flows ?? self.flows
        var filter = FlowFilter()
        do {
            for (option, value) in options { try filter.add(option, value) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return flows.indices.filter { filter.matches(flows[$0]) }
    }

    private func refused(_ options: [(FlowFilter.Option, String)]) -> String? {
        var filter = FlowFilter()
        do {
            for (option, value) in options { try filter.add(option, value) }
            return nil
        } catch {
            return error.description
        }
    }

    // MARK: - Filters

    func testAllNamespacesMatchesOnlyFlowsWithAPodOnThatSide() {
        var world = flows[8]
        world.source = FlowEndpoint(identity: 2, labels: ["reserved:world"])
        let set = flows + [world]
        XCTAssertEqual(selected([(.allNamespaces, "")], in: set), Array(0...9), "the destination is a pod")
        XCTAssertEqual(selected([(.fromAllNamespaces, "")], in: set), Array(0...8), "world has no pod")
        XCTAssertEqual(selected([(.toAllNamespaces, "")], in: set), Array(0...9))
        XCTAssertEqual(selected([(.allNamespaces, ""), (.pod, "core")], in: set), [4, 5, 6], "/core: any namespace")
        XCTAssertEqual(selected([(.pod, "core")], in: set), [], "without -A the namespace is default")
        XCTAssertEqual(
            refused([(.allNamespaces, ""), (.fromAllNamespaces, "")]),
            "filters --all-namespaces and --from-all-namespaces cannot be combined")
        XCTAssertNotNil(refused([(.namespace, "default"), (.allNamespaces, "")]))
        XCTAssertNotNil(refused([(.ip, "10.0.0.1"), (.toAllNamespaces, "")]))
        XCTAssertNil(refused([(.fromAllNamespaces, ""), (.toAllNamespaces, "")]))
    }

    func testLabelSelectorShortFormSameAsLabel() {
        XCTAssertEqual(selected([(.label, "k8s-app=kube-dns")]), [4, 5, 6])
        XCTAssertEqual(selected([(.label, "k8s-app=kube-dns"), (.label, "app=server")]), Array(0..<9))
    }

    func testNodeNameGlob() {
        XCTAssertEqual(selected([(.nodeName, "kind-worker")]), Array(0..<9))
        XCTAssertEqual(selected([(.nodeName, "kind-*")]), Array(0..<9))
        XCTAssertEqual(selected([(.nodeName, "*-work*")]), Array(0..<9))
        XCTAssertEqual(selected([(.nodeName, "kind")]), [], "a pattern matches the whole name")
        XCTAssertEqual(selected([(.nodeName, "other*"), (.nodeName, "kind-worker")]), Array(0..<9), "ORed")
        XCTAssertTrue(FlowFilter.Clause.node("worker-1", matches: "c1/worker-1"), "no cluster in the pattern")
        XCTAssertFalse(FlowFilter.Clause.node("c2/worker-1", matches: "c1/worker-1"))
    }

    func testUUIDExactMatch() {
        var set = flows
        for i in set.indices { set[i].uuid = FlowUUID.make(seed: "boot", seq: UInt64(i)) }
        XCTAssertEqual(selected([(.uuid, set[3].uuid)], in: set), [3])
        XCTAssertEqual(selected([(.uuid, set[3].uuid), (.uuid, set[5].uuid)], in: set), [3, 5])
        XCTAssertEqual(selected([(.uuid, "nope")], in: set), [])
    }

    func testTCPFlagsAllNamedFlagsMustBeSet() {
        XCTAssertEqual(selected([(.tcpFlags, "SYN")]), [7, 8], "L7 flows carry no flags")
        XCTAssertEqual(selected([(.tcpFlags, "syn")]), [7, 8])
        XCTAssertEqual(selected([(.tcpFlags, "syn,ack")]), [])
        XCTAssertEqual(selected([(.tcpFlags, "syn,ack"), (.tcpFlags, "SYN")]), [7, 8], "ORed")
        XCTAssertEqual(selected([(.tcpFlags, "NS")]), [], "NS is never recorded")
        for bad in ["unknown", "syn,unknown", "syn,", ",syn"] {
            XCTAssertNotNil(refused([(.tcpFlags, bad)]), bad)
        }
    }

    func testIPVersion() {
        var v6 = flows[8]
        v6.ip = Flow.IP(source: "fd00::1", destination: "fd00::2", ipVersion: .ipv6)
        let set = flows + [v6]
        XCTAssertEqual(selected([(.ipv4, "")], in: set), Array(0...8))
        XCTAssertEqual(selected([(.ipv6, "")], in: set), [9])
        XCTAssertEqual(selected([(.ipVersion, "6")], in: set), [9])
        XCTAssertEqual(selected([(.ipVersion, "v4"), (.ipVersion, "ipv6")], in: set), Array(0...9))
        XCTAssertEqual(refused([(.ipVersion, "5")]), "invalid IP version filter argument: 5 (4 or 6)")
    }

    func testHTTPHeaderKeyValue() {
        var set = flows
        if case .http(var h)? = set[0].l7?.record {
            h.headers = [.init(key: "X-Request-Id", value: "a:b")]
            set[0].l7?.record = .http(h)
        }
        XCTAssertEqual(selected([(.httpHeader, "X-Request-Id:a:b")], in: set), [0], "split at the first colon")
        XCTAssertEqual(selected([(.httpHeader, "X-Request-Id:a")], in: set), [])
        XCTAssertNotNil(refused([(.httpHeader, "novalue")]))
        XCTAssertNotNil(refused([(.type, "drop"), (.httpHeader, "a:b")]), "an HTTP filter needs l7 events")
    }

    // MARK: - Output

    /// Go tabwriter (minwidth 2, padding 3): each column as wide as its widest cell plus 3.
    func testTableGolden() {
        let lines = FlowPrinter.table(Array(flows[0..<3]), timeZone: .utc)
        let expected = [
            "TIMESTAMP             SOURCE                      DESTINATION                 TYPE            VERDICT     SUMMARY",
            "Aug  1 10:00:00.123   default/client-7d9f:43210   default/server-5c6b:80      http-request    FORWARDED   HTTP/1.1 GET http://server.default/public",
            "Aug  1 10:00:00.127   default/server-5c6b:80      default/client-7d9f:43210   http-response   FORWARDED   HTTP/1.1 200 4ms (GET http://server.default/public)",
            "Aug  1 10:00:00.300   default/client-7d9f:43211   default/server-5c6b:80      http-request    DROPPED     HTTP/1.1 DELETE http://server.default/admin",
        ]
        XCTAssertEqual(lines, expected)
        let withNode = FlowPrinter.table([flows[8]], timeZone: .utc, printNodeName: true)
        XCTAssertEqual(
            withNode,
            [
                "TIMESTAMP             NODE          SOURCE                      DESTINATION                TYPE            VERDICT   SUMMARY",
                "Aug  1 10:00:02.500   kind-worker   default/client-7d9f:43212   default/server-5c6b:8080   Policy denied   DROPPED   TCP Flags: SYN",
            ])
        XCTAssertEqual(FlowPrinter.table([], timeZone: .utc), [], "no flows, no header")
    }

    func testDictGolden() {
        XCTAssertEqual(
            FlowPrinter.dict(flows[8], timeZone: .utc, printNodeName: true),
            """
              TIMESTAMP: Aug  1 10:00:02.500
                   NODE: kind-worker
                 SOURCE: default/client-7d9f:43212
            DESTINATION: default/server-5c6b:8080
                   TYPE: Policy denied
                VERDICT: DROPPED
                SUMMARY: TCP Flags: SYN
            """)
        XCTAssertEqual(FlowPrinter.dictSeparator, "------------")
    }

    func testTimeFormats() {
        var f = flows[0]
        f.time = Flow.Timestamp(seconds: 1_785_578_400, nanos: 123_450_000)
        func line(_ format: TimeFormat, _ zone: PrintTimeZone = .utc) -> String {
            let text = FlowPrinter.compact(f, timeZone: zone, timeFormat: format)
            return String(text[..<text.range(of: ": default")!.lowerBound])
        }
        XCTAssertEqual(line(.stampMilli), "Aug  1 10:00:00.123")
        XCTAssertEqual(line(.rfc3339), "2026-08-01T10:00:00Z")
        XCTAssertEqual(line(.rfc3339Milli), "2026-08-01T10:00:00.123Z")
        XCTAssertEqual(line(.rfc3339Micro), "2026-08-01T10:00:00.123450Z")
        XCTAssertEqual(line(.rfc3339Nano), "2026-08-01T10:00:00.12345Z")
        XCTAssertEqual(
            line(.rfc3339Nano, .fixed(secondsEastOfUTC: -(5 * 3600 + 1800))), "2026-08-01T04:30:00.12345-05:30")
        XCTAssertEqual(line(.rfc1123Z), "Sat, 01 Aug 2026 10:00:00 +0000")
        XCTAssertEqual(line(.rfc1123Z, .fixed(secondsEastOfUTC: 7200)), "Sat, 01 Aug 2026 12:00:00 +0200")
    }

    func testJSONCarriesUUIDAndEmitter() {
        var f = flows[8]
        f.uuid = FlowUUID.make(seed: "b", seq: 7)
        f.emitter = .sluice
        let json = FlowPrinter.json(f)
        XCTAssertTrue(
            json.hasPrefix(
                "{\"flow\":{\"time\":\"2026-08-01T10:00:02.500Z\",\"uuid\":\"\(f.uuid)\",\"emitter\":{\"name\":\"Sluice\",\"version\":\"\(SluiceVersion.current)\"},\"verdict\":\"DROPPED\""
            ), json)
    }
}
