import Foundation
import XCTest

@testable import Flows

/// `-o json` against the three example lines of reference §5.3, parsed and compared field by field. The lines'
/// `uuid` is left out (Sluice has none), and times are compared as instants: protojson writes 0, 3, 6 or 9
/// fractional digits, so the reference's hand-written `02.5Z` is `02.500Z` in real output.
final class FlowPrinterJSONTests: XCTestCase {
    private let examples = [
        #"{"flow":{"time":"2026-08-01T10:00:00.123456789Z","verdict":"FORWARDED","IP":{"source":"10.0.1.23","destination":"10.0.2.45","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":43210,"destination_port":80}},"source":{"ID":1203,"identity":11231,"namespace":"default","labels":["k8s:app=client","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"client-7d9f"},"destination":{"ID":877,"identity":22411,"namespace":"default","labels":["k8s:app=server","k8s:io.kubernetes.pod.namespace=default"],"pod_name":"server-5c6b"},"Type":"L7","node_name":"kind-worker","l7":{"type":"REQUEST","http":{"method":"GET","url":"http://server.default/public","protocol":"HTTP/1.1","headers":[{"key":"X-Request-Id","value":"4c1e"}]}},"event_type":{"type":129},"traffic_direction":"INGRESS","is_reply":false,"Summary":"HTTP/1.1 GET http://server.default/public"},"node_name":"kind-worker","time":"2026-08-01T10:00:00.123456789Z"}"#,
        #"{"flow":{"time":"2026-08-01T10:00:01.000000001Z","verdict":"FORWARDED","IP":{"source":"10.0.0.91","destination":"10.0.1.23","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":51515}},"source":{"identity":48125,"namespace":"kube-system","labels":["k8s:k8s-app=kube-dns"],"pod_name":"coredns-6f6b"},"destination":{"ID":1203,"identity":11231,"namespace":"default","labels":["k8s:app=client"],"pod_name":"client-7d9f"},"Type":"L7","node_name":"kind-worker","l7":{"type":"RESPONSE","dns":{"query":"cilium.io.","ips":["104.198.14.52"],"ttl":300,"observation_source":"proxy","qtypes":["A"],"rrtypes":["A"]}},"event_type":{"type":129},"traffic_direction":"EGRESS","is_reply":true,"Summary":"DNS Answer \"104.198.14.52\" TTL: 300 (Proxy cilium.io. A)"},"node_name":"kind-worker","time":"2026-08-01T10:00:01.000000001Z"}"#,
        #"{"flow":{"time":"2026-08-01T10:00:02.5Z","verdict":"DROPPED","drop_reason":133,"IP":{"source":"10.0.1.23","destination":"10.0.2.45","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":43212,"destination_port":8080,"flags":{"SYN":true}}},"source":{"identity":11231,"namespace":"default","labels":["k8s:app=client"],"pod_name":"client-7d9f"},"destination":{"ID":877,"identity":22411,"namespace":"default","labels":["k8s:app=server"],"pod_name":"server-5c6b"},"Type":"L3_L4","node_name":"kind-worker","event_type":{"type":1,"sub_type":133},"traffic_direction":"INGRESS","drop_reason_desc":"POLICY_DENIED","Summary":"TCP Flags: SYN"},"node_name":"kind-worker","time":"2026-08-01T10:00:02.5Z"}"#,
    ]

    /// The three flows, from records (plus what a record cannot hold: headers, remote pods' names).
    private func flows() -> [Flow] {
        let f = FlowFixtures.self
        var request = f.http(
            f.common(
                .forwarded, from: f.client, 43210, to: f.server, 80,
                time: f.monotonicBase + 123_456_789), .request, method: "GET", path: "/public")
        if case .http(var http)? = request.l7?.record {
            http.headers = [.init(key: "X-Request-Id", value: "4c1e")]
            request.l7?.record = .http(http)
        }
        request.source?.labels = ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=default"]

        var dnsCommon = f.common(
            .forwarded, from: f.coredns, 53, to: f.client, 51515,
            time: f.monotonicBase + 1_000_000_001, proto: FlowCommon.udp, direction: .egress)
        dnsCommon.srcEndpoint = 0
        var dns = f.dns(dnsCommon, .response, query: "cilium.io.", ttl: 300, ips: ["104.198.14.52"], rrtypes: .a)
        dns.source = FlowEndpoint(
            identity: 48125, namespace: "kube-system", labels: ["k8s:k8s-app=kube-dns"],
            podName: "coredns-6f6b")
        dns.destination?.labels = ["k8s:app=client"]

        var syn = f.common(.dropped, from: f.client, 43212, to: f.server, 8080, time: f.mono(seconds: 2, millis: 500))
        syn.srcEndpoint = 0
        syn.tcpFlags = .syn
        syn.dropReason = .policyDenied
        var drop = f.record { FlowRecordWriter.writeL3L4Drop($0, common: syn) }.1
        drop.source = FlowEndpoint(
            identity: 11231, namespace: "default", labels: ["k8s:app=client"],
            podName: "client-7d9f")
        drop.destination?.labels = ["k8s:app=server"]
        return [request, dns, drop]
    }

    func testJSONMatchesReferenceExamplesFieldByField() throws {
        for (flow, line) in zip(flows(), examples) {
            let output = FlowPrinter.json(flow)
            XCTAssertFalse(output.contains("\n"))
            let got = try normalized(parse(output))
            let want = try normalized(parse(line))
            XCTAssertEqual(got, want, "\n got: \(output)\nwant: \(line)")
        }
    }

    func testFieldOrderFollowsProtoDeclaration() {
        let output = FlowPrinter.json(flows()[2])
        let keys = [
            "\"time\"", "\"verdict\"", "\"drop_reason\"", "\"IP\"", "\"l4\"", "\"source\":{", "\"destination\":{",
            "\"Type\"", "\"node_name\"", "\"event_type\"", "\"traffic_direction\"", "\"drop_reason_desc\"",
            "\"Summary\"",
        ]
        let positions = keys.compactMap { output.range(of: $0)?.lowerBound }
        XCTAssertEqual(positions.count, keys.count)
        XCTAssertEqual(positions, positions.sorted())
        XCTAssertTrue(output.hasPrefix("{\"flow\":{\"time\":"))
        XCTAssertTrue(output.contains("},\"node_name\":\"kind-worker\",\"time\":\"2026-08-01T10:00:02.500Z\"}"))
    }

    func testLatencyIsAStringAndZeroFieldsAreAbsent() throws {
        let response = FlowFixtures.compactExamples[1]
        let json = try parse(FlowPrinter.json(response))
        let flow = try XCTUnwrap(json["flow"] as? [String: Any])
        let l7 = try XCTUnwrap(flow["l7"] as? [String: Any])
        XCTAssertEqual(l7["latency_ns"] as? String, "4200000")
        XCTAssertEqual((l7["http"] as? [String: Any])?["code"] as? Int, 200)
        XCTAssertNil(flow["drop_reason"])
        XCTAssertNil(flow["drop_reason_desc"])
        XCTAssertEqual(flow["is_reply"] as? Bool, true)
        XCTAssertNil(((flow["l4"] as? [String: Any])?["TCP"] as? [String: Any])?["flags"])
    }

    /// Each `l4` oneof is written under its proto field name with its own fields.
    func testEveryLayer4BlockHasItsNameAndFields() throws {
        let blocks: [(Flow.Layer4, String)] = [
            (.tcp(.init(sourcePort: 1, destinationPort: 2)), #""l4":{"TCP":{"source_port":1,"destination_port":2}}"#),
            (.udp(.init(sourcePort: 3, destinationPort: 4)), #""l4":{"UDP":{"source_port":3,"destination_port":4}}"#),
            (.sctp(.init(sourcePort: 5, destinationPort: 6)), #""l4":{"SCTP":{"source_port":5,"destination_port":6}}"#),
            (.icmpv4(.init(type: 8)), #""l4":{"ICMPv4":{"type":8}}"#),
            (.icmpv6(.init(type: 1, code: 4)), #""l4":{"ICMPv6":{"type":1,"code":4}}"#),
        ]
        for (l4, expected) in blocks {
            var f = FlowFixtures.compactExamples[0]
            f.l4 = l4
            let output = FlowPrinter.json(f)
            XCTAssertTrue(output.contains(expected), "\(l4): \(output)")
        }
    }

    func testStringsAreEscaped() throws {
        var f = FlowFixtures.compactExamples[0]
        f.l7?.record = .http(Flow.HTTP(method: "GET", url: "http://x/\"q\"\\\u{01}\n", protocol: "HTTP/1.1"))
        let flow = try XCTUnwrap(parse(FlowPrinter.json(f))["flow"] as? [String: Any])
        let http = (flow["l7"] as? [String: Any])?["http"] as? [String: Any]
        XCTAssertEqual(http?["url"] as? String, "http://x/\"q\"\\\u{01}\n")
    }

    // MARK: - Helpers

    private func parse(_ line: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// Canonical text of a parsed object with times replaced by "seconds.nanos".
    private func normalized(_ object: [String: Any]) throws -> String {
        var o = object
        o["time"] = (o["time"] as? String).map(instant)
        if var flow = o["flow"] as? [String: Any] {
            flow["time"] = (flow["time"] as? String).map(instant)
            o["flow"] = flow
        }
        let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    private func instant(_ rfc3339: String) -> String {
        let parts = rfc3339.dropLast().split(separator: ".")
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        let nanos = Int((fraction + String(repeating: "0", count: 9 - fraction.count))) ?? -1
        return "\(parts[0]).\(nanos)"
    }
}
