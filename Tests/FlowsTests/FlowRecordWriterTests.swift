import CSluiceShared
import XCTest

@testable import Flows

/// Writer → record → decode round trips.
final class FlowRecordWriterTests: XCTestCase {
    typealias F = FlowFixtures

    func testHTTPRequestRoundTrip() {
        let common = F.common(.forwarded, from: F.client, 43210, to: F.server, 80, time: F.mono(millis: 123))
        let (rec, flow) = F.record { p in
            F.bytes("GET") { m in
                F.bytes("server.default:8080") { a in
                    F.bytes("/public?x=1") { path in
                        FlowRecordWriter.writeHTTP(
                            p, common: common, l7Type: .request, method: m, scheme: "http",
                            authority: a, path: path, code: 0, latencyNs: 0, proto: .http11)
                    }
                }
            }
        }
        XCTAssertEqual(rec.commit, 0xC0FFEE, "the writer must not touch commit")
        XCTAssertEqual(flow.time, Flow.Timestamp(seconds: F.baseSeconds, nanos: 123_000_000))
        XCTAssertEqual(flow.verdict, .forwarded)
        XCTAssertEqual(flow.type, .l7)
        XCTAssertEqual(flow.eventType, Flow.EventType(type: 129, subType: 0))
        XCTAssertEqual(flow.isReply, false)
        XCTAssertEqual(flow.trafficDirection, .ingress)
        XCTAssertEqual(flow.nodeName, "kind-worker")
        XCTAssertEqual(flow.ip, Flow.IP(source: "10.0.1.23", destination: "10.0.2.45", ipVersion: .ipv4))
        XCTAssertEqual(flow.l4, .tcp(Flow.TCP(sourcePort: 43210, destinationPort: 80, flags: nil)))
        XCTAssertEqual(
            flow.source,
            FlowEndpoint(
                id: 1203, identity: 11231, namespace: "default",
                labels: F.client.labels, podName: "client-7d9f"))
        XCTAssertEqual(flow.source?.labels, ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=default"])
        XCTAssertEqual(flow.destination?.podName, "server-5c6b")
        XCTAssertEqual(
            flow.l7,
            Flow.Layer7(
                type: .request,
                record: .http(
                    Flow.HTTP(
                        method: "GET", url: "http://server.default:8080/public?x=1", protocol: "HTTP/1.1"))))
        XCTAssertEqual(flow.l7?.http?.path, "/public")
        XCTAssertEqual(flow.dropReason, 0)
    }

    /// The form that takes time, verdict and direction apart (the recorders' path) writes the same
    /// bytes as the one that reads them from `common`, whatever `common` itself says of them.
    func testHTTPWithFieldsApartWritesTheSameBytes() {
        let base = F.common(.forwarded, from: F.client, 43210, to: F.server, 80, time: F.mono(millis: 5))
        for (verdict, direction, l7Type) in [
            (Flow.Verdict.forwarded, Flow.TrafficDirection.ingress, Flow.L7FlowType.request),
            (.dropped, .egress, .request), (.error, .unknown, .response), (.forwarded, .egress, .response),
        ] {
            var set = l7Type == .response ? base.swapped() : base
            let stored = set
            set.timeNs = 987_654_321
            set.verdict = verdict
            set.direction = direction
            func written(_ write: (UnsafeMutablePointer<sluice_flow>) -> Void) -> [UInt8] {
                var rec = sluice_flow()
                withUnsafeMutableBytes(of: &rec) { $0.initializeMemory(as: UInt8.self, repeating: 0xA5) }
                withUnsafeMutablePointer(to: &rec) { write($0) }
                return withUnsafeBytes(of: &rec) { Array($0) }
            }
            let viaCommon = written { p in
                F.bytes("GET") { m in
                    F.bytes("server.default") { a in
                        F.bytes("/x") { path in
                            FlowRecordWriter.writeHTTP(
                                p, common: set, l7Type: l7Type, method: m, scheme: "http", authority: a,
                                path: path, code: 200, latencyNs: 7, proto: .http11, policyID: 3)
                        }
                    }
                }
            }
            let apart = written { p in
                F.bytes("GET") { m in
                    F.bytes("server.default") { a in
                        F.bytes("/x") { path in
                            FlowRecordWriter.writeHTTP(
                                p, common: stored, timeNs: 987_654_321, flowVerdict: verdict, direction: direction,
                                l7Type: l7Type, method: m, scheme: "http", authority: a, path: path, code: 200,
                                latencyNs: 7, proto: .http11, policyID: 3)
                        }
                    }
                }
            }
            let differs = apart.indices.first { apart[$0] != viaCommon[$0] }
            XCTAssertNil(differs, "\(verdict) \(direction) \(l7Type): first different byte")
        }
    }

    func testHTTPResponseRoundTripKeepsCodeLatencyAndSwappedEndpoints() {
        var common = F.common(.forwarded, from: F.client, 43210, to: F.server, 80, time: F.mono(millis: 127))
            .swapped()
        common.isReply = nil
        let flow = F.http(
            common, .response, method: "GET", path: "/", code: 503, latencyNs: 12_345_678,
            proto: .http2)
        XCTAssertEqual(flow.isReply, true)
        XCTAssertEqual(flow.source?.podName, "server-5c6b")
        XCTAssertEqual(flow.ip?.source, "10.0.2.45")
        XCTAssertEqual(flow.l4?.sourcePort, 80)
        XCTAssertEqual(flow.l7?.latencyNs, 12_345_678)
        XCTAssertEqual(flow.l7?.http?.code, 503)
        XCTAssertEqual(flow.l7?.http?.protocol, "HTTP/2")
        XCTAssertEqual(flow.summary, "HTTP/2 503 12ms (GET http://server.default/)")
    }

    func testURLAndMethodAreTruncatedAtTheirLimits() {
        let longPath = "/" + String(repeating: "a", count: 500)
        let common = F.common(.forwarded, from: F.client, 1, to: F.server, 80, time: F.monotonicBase)
        let (rec, flow) = F.record { p in
            F.bytes("VERYLONGMETHODNAME-XYZ") { m in
                F.bytes("server") { a in
                    F.bytes(longPath) { path in
                        FlowRecordWriter.writeHTTP(
                            p, common: common, l7Type: .request, method: m, scheme: "https",
                            authority: a, path: path, code: 0, latencyNs: 0, proto: .http10)
                    }
                }
            }
        }
        XCTAssertEqual(Int(rec.l7.http.url_len), Int(SLUICE_HTTP_URL_MAX))
        XCTAssertEqual(flow.l7?.http?.url.utf8.count, Int(SLUICE_HTTP_URL_MAX))
        XCTAssertTrue(flow.l7?.http?.url.hasPrefix("https://server/aaa") ?? false)
        XCTAssertEqual(flow.l7?.http?.method, "VERYLONGMETHODNA")
        XCTAssertEqual(flow.l7?.http?.protocol, "HTTP/1")
    }

    func testWriterClearsThePreviousRecord() {
        var rec = sluice_flow()
        let dnsCommon = F.common(
            .forwarded, from: F.coredns, 53, to: F.client, 5353, time: F.monotonicBase,
            proto: FlowCommon.udp)
        withUnsafeMutablePointer(to: &rec) { p in
            F.bytes("a-very-long-name.example.") { q in
                FlowRecordWriter.writeDNS(
                    p, common: dnsCommon, l7Type: .response, query: q, qtype: 1, rcode: 0,
                    ttl: 60, rrtypes: .a, latencyNs: 0)
            }
            FlowRecordWriter.appendDNSAddress(p, ipv4NetworkOrder: F.ip("1.1.1.1"))
            var drop = F.common(.dropped, from: F.client, 1, to: F.server, 2, time: 7)
            drop.dropReason = .policyDeny
            FlowRecordWriter.writeL3L4Drop(p, common: drop)
        }
        let flow = Flow.decode(rec, directory: F.directory, monotonicToWallOffsetNs: F.offsetNs)
        XCTAssertNil(flow.l7)
        XCTAssertNil(flow.l7Verdict)
        XCTAssertEqual(rec.l7_proto, 0)
        XCTAssertEqual(rec.latency_ns, 0)
        XCTAssertEqual(rec.drop_reason, 181)
    }

    /// The ring hands the writer a slot that still holds an older record (`FlowRing.appendWritten`):
    /// every kind of record written over every other kind, and over a slot of 0xA5 bytes, decodes
    /// exactly as the same record written into a zeroed slot.
    func testRecordsWrittenOverAnyOlderRecordDecodeAsOnAZeroedSlot() {
        let request = F.common(.forwarded, from: F.client, 43210, to: F.server, 80, time: F.mono(millis: 5))
        let dnsCommon = F.common(
            .forwarded, from: F.coredns, 53, to: F.client, 5353, time: F.monotonicBase, proto: FlowCommon.udp)
        let headerBytes = UnsafeMutableRawPointer.allocate(byteCount: HTTPHeaderRecord.capacity, alignment: 8)
        defer { headerBytes.deallocate() }
        var packer = HTTPHeaderRecord.Packer(base: headerBytes)
        F.bytes("user-agent") { n in
            F.bytes("curl/8") { v in packer.append(name: n, value: v, redaction: FlowRedaction()) }
        }
        let headers = packer
        let writers: [(String, (UnsafeMutablePointer<sluice_flow>) -> Void)] = [
            (
                "http request with headers and verdict",
                { p in
                    F.bytes("POST") { m in
                        F.bytes("server.default:8080") { a in
                            F.bytes("/a/very/long/path?with=query&and=more") { path in
                                FlowRecordWriter.writeHTTP(
                                    p, common: request, l7Type: .request, method: m, scheme: "http",
                                    authority: a, path: path, code: 0, latencyNs: 0, proto: .http11, policyID: 9,
                                    verdict: Flow.L7Verdict(reason: .ruleMatched, headerActions: [.add]),
                                    headers: headers)
                            }
                        }
                    }
                }
            ),
            (
                "http response with a connection error",
                { p in
                    F.bytes("GET") { m in
                        F.bytes("s") { a in
                            F.bytes("/") { path in
                                FlowRecordWriter.writeHTTP(
                                    p, common: request.swapped(), l7Type: .response, method: m, scheme: "http",
                                    authority: a, path: path, code: 503, latencyNs: 77, proto: .http2)
                            }
                        }
                    }
                    FlowRecordWriter.setHTTPConnectionError(p, side: 2, errno: 104)
                }
            ),
            (
                "dns response with addresses",
                { p in
                    F.bytes("name.example.") { q in
                        FlowRecordWriter.writeDNS(
                            p, common: dnsCommon, l7Type: .response, query: q, qtype: 1, rcode: 3,
                            ttl: 60, rrtypes: .a, latencyNs: 9, policyID: 4)
                    }
                    FlowRecordWriter.appendDNSAddress(p, ipv4NetworkOrder: F.ip("1.1.1.1"))
                    FlowRecordWriter.appendDNSAddress(p, ipv4NetworkOrder: F.ip("2.2.2.2"))
                    FlowRecordWriter.setDNSConnectionError(p, side: 1, errno: 32)
                }
            ),
            (
                "dns request",
                { p in
                    F.bytes("x.") { q in
                        FlowRecordWriter.writeDNS(
                            p, common: dnsCommon, l7Type: .request, query: q, qtype: 28, rcode: 0,
                            ttl: 0, rrtypes: [], latencyNs: 0)
                    }
                }
            ),
            (
                "l3/l4 drop",
                { p in
                    var drop = F.common(.dropped, from: F.client, 1, to: F.server, 2, time: 7)
                    drop.dropReason = .policyDeny
                    FlowRecordWriter.writeL3L4Drop(p, common: drop)
                }
            ),
            ("l3/l4 flow", { p in FlowRecordWriter.writeL3L4(p, common: request) }),
        ]
        func decode(_ rec: sluice_flow) -> Flow {
            Flow.decode(rec, directory: F.directory, monotonicToWallOffsetNs: F.offsetNs)
        }
        for (name, write) in writers {
            var clean = sluice_flow()
            withUnsafeMutablePointer(to: &clean) { write($0) }
            let expected = decode(clean)
            var garbage = sluice_flow()
            withUnsafeMutableBytes(of: &garbage) { $0.initializeMemory(as: UInt8.self, repeating: 0xA5) }
            withUnsafeMutablePointer(to: &garbage) { write($0) }
            XCTAssertEqual(decode(garbage), expected, "\(name) over 0xA5 bytes")
            for (olderName, older) in writers {
                var slot = sluice_flow()
                withUnsafeMutablePointer(to: &slot) { older($0) }
                withUnsafeMutablePointer(to: &slot) { write($0) }
                XCTAssertEqual(decode(slot), expected, "\(name) over \(olderName)")
            }
        }
    }

    func testHeaderBytesEndWhereTheL7PartStarts() {
        XCTAssertEqual(
            FlowRecordWriter.headerBytes + MemoryLayout<UInt64>.size, MemoryLayout<sluice_flow>.offset(of: \.l7))
    }

    func testL3L4DropRoundTrip() {
        var c = F.common(.forwarded, from: F.client, 43212, to: F.server, 8080, time: F.mono(seconds: 2, millis: 500))
        c.tcpFlags = [.syn, .ack]
        c.isReply = true
        c.dropReason = .policyDenied
        let flow = F.record { FlowRecordWriter.writeL3L4Drop($0, common: c) }.1
        XCTAssertEqual(flow.verdict, .dropped)
        XCTAssertEqual(flow.type, .l3L4)
        XCTAssertNil(flow.isReply)
        XCTAssertNil(flow.l7)
        XCTAssertEqual(flow.eventType, Flow.EventType(type: 1, subType: 133))
        XCTAssertEqual(flow.dropReason, 133)
        XCTAssertEqual(flow.dropReasonDesc.name, "POLICY_DENIED")
        XCTAssertEqual(flow.l4, .tcp(Flow.TCP(sourcePort: 43212, destinationPort: 8080, flags: [.syn, .ack])))
        XCTAssertEqual(flow.summary, "TCP Flags: SYN, ACK")
    }

    func testDNSRoundTripWithBothAddressFamilies() {
        var c = F.common(
            .forwarded, from: F.client, 51515, to: F.coredns, 53, time: F.monotonicBase,
            proto: FlowCommon.udp, direction: .egress
        ).swapped()
        c.srcEndpoint = 0
        c.srcIP = F.ip("8.8.8.8")
        c.srcIdentity = 2
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        let (_, flow) = F.record { p in
            F.bytes("cilium.io.") { q in
                FlowRecordWriter.writeDNS(
                    p, common: c, l7Type: .response, query: q, qtype: 28, rcode: 0, ttl: 30,
                    rrtypes: [.a, .aaaa, .cname], latencyNs: 1_000)
            }
            XCTAssertTrue(FlowRecordWriter.appendDNSAddress(p, ipv4NetworkOrder: F.ip("104.198.14.52")))
            v6.withUnsafeBytes { XCTAssertTrue(FlowRecordWriter.appendDNSAddress(p, ipv6: $0)) }
            for _ in 0..<6 { FlowRecordWriter.appendDNSAddress(p, ipv4NetworkOrder: F.ip("10.9.9.9")) }
            XCTAssertFalse(FlowRecordWriter.appendDNSAddress(p, ipv4NetworkOrder: F.ip("10.9.9.10")))
        }
        XCTAssertEqual(flow.source, FlowEndpoint(identity: 2, labels: ["reserved:world"]))
        XCTAssertEqual(flow.destination?.id, 1203)
        XCTAssertEqual(flow.isReply, true)
        let dns = flow.l7?.dns
        XCTAssertEqual(dns?.query, "cilium.io.")
        XCTAssertEqual(dns?.qtypes, ["AAAA"])
        XCTAssertEqual(dns?.rrtypes, ["A", "AAAA", "CNAME"])
        XCTAssertEqual(dns?.ttl, 30)
        XCTAssertEqual(dns?.observationSource, "proxy")
        XCTAssertEqual(Array(dns?.ips.prefix(2) ?? []), ["104.198.14.52", "2001:db8::1"])
        XCTAssertEqual(dns?.ips.count, 8)
        XCTAssertEqual(flow.l7?.latencyNs, 1_000)
    }

    func testDNSRequestDropsResponseOnlyFields() {
        let c = F.common(
            .dropped, from: F.client, 51516, to: F.coredns, 53, time: F.monotonicBase,
            proto: FlowCommon.udp, direction: .egress)
        let flow = F.dns(c, .request, query: "evil.example.", rcode: 5, ttl: 9, ips: ["1.2.3.4"], rrtypes: .a)
        XCTAssertEqual(flow.l7?.dns, Flow.DNS(query: "evil.example.", qtypes: ["A"]))
        XCTAssertEqual(flow.verdict, .dropped)
        XCTAssertEqual(flow.isReply, false)
    }

    func testDecodeClampsHostileLengths() {
        var rec = sluice_flow()
        rec.flow_type = Flow.FlowType.l7.rawValue
        rec.l7_proto = Flow.L7Protocol.http11.rawValue
        rec.l7.http.url_len = 60_000
        rec.l7.http.method_len = 255
        rec.ip_version = 9
        rec.verdict = 200
        let flow = Flow.decode(rec, directory: EndpointDirectory(), monotonicToWallOffsetNs: 0)
        XCTAssertEqual(flow.l7?.http?.url.utf8.count, Int(SLUICE_HTTP_URL_MAX))
        XCTAssertEqual(flow.l7?.http?.method.utf8.count, Int(SLUICE_HTTP_METHOD_MAX))
        XCTAssertNil(flow.ip)
        XCTAssertEqual(flow.verdict, .unknown)
    }
    /// The policy an L7 request record names (`policy_id`) is filed under its direction and verdict,
    /// resolved through the directory; responses and unknown numbers name nothing.
    func testPolicyOfAnL7RequestIsNamedByDirectionAndVerdict() throws {
        let ref: UInt32 = 0x56E5_F879
        let directory = EndpointDirectory(
            file: .init(
                nodeName: "kind-worker", endpoints: [F.client, F.server], identities: [],
                policies: [
                    .init(ref: ref, kind: "CiliumNetworkPolicy", namespace: "backend", name: "backend-http-rules")
                ]))
        let policy = Flow.Policy(name: "backend-http-rules", namespace: "backend", kind: "CiliumNetworkPolicy")
        XCTAssertEqual(
            policy.labels,
            [
                "k8s:io.cilium.k8s.policy.derived-from=CiliumNetworkPolicy",
                "k8s:io.cilium.k8s.policy.name=backend-http-rules",
                "k8s:io.cilium.k8s.policy.namespace=backend",
            ])
        func decoded(
            _ verdict: Flow.Verdict, _ direction: Flow.TrafficDirection, _ type: Flow.L7FlowType = .request,
            policyID: UInt32 = ref
        ) -> Flow {
            let common = F.common(
                verdict, from: F.client, 43210, to: F.server, 80, time: F.mono(millis: 1),
                direction: direction)
            var rec = sluice_flow()
            F.bytes("POST") { m in
                F.bytes("server") { a in
                    F.bytes("/post") { p in
                        FlowRecordWriter.writeHTTP(
                            &rec, common: common, l7Type: type, method: m, scheme: "http", authority: a,
                            path: p, code: 0, latencyNs: 0, proto: .http11, policyID: policyID)
                    }
                }
            }
            XCTAssertEqual(rec.l7.http.policy_id, policyID)
            return Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: F.offsetNs)
        }
        XCTAssertEqual(decoded(.dropped, .ingress).ingressDeniedBy, [policy])
        XCTAssertEqual(decoded(.forwarded, .ingress).ingressAllowedBy, [policy])
        XCTAssertEqual(decoded(.dropped, .egress).egressDeniedBy, [policy])
        XCTAssertEqual(decoded(.forwarded, .egress).egressAllowedBy, [policy])
        let response = decoded(.forwarded, .ingress, .response)
        XCTAssertEqual(response.ingressAllowedBy + response.egressAllowedBy, [])
        let unknown = decoded(.dropped, .ingress, policyID: 12345)
        XCTAssertEqual(unknown.ingressDeniedBy, [], "a policy deleted since names nothing")

        let json = FlowPrinter.json(decoded(.dropped, .ingress))
        XCTAssertTrue(
            json.contains(
                #","Summary":"HTTP/1.1 POST http://server/post","ingress_denied_by":[{"name":"#
                    + #""backend-http-rules","namespace":"backend","labels":["k8s:io.cilium.k8s.policy.derived-from="#
                    + #"CiliumNetworkPolicy","k8s:io.cilium.k8s.policy.name=backend-http-rules","#
                    + #""k8s:io.cilium.k8s.policy.namespace=backend"],"kind":"CiliumNetworkPolicy"}]}"#), json)

        var dnsRecord = sluice_flow()
        let dnsCommon = F.common(
            .dropped, from: F.client, 5353, to: F.server, 53, time: F.mono(millis: 2),
            proto: FlowCommon.udp, direction: .egress)
        F.bytes("evil.test.") { q in
            FlowRecordWriter.writeDNS(
                &dnsRecord, common: dnsCommon, l7Type: .request, query: q, qtype: 1, rcode: 0,
                ttl: 0, rrtypes: [], latencyNs: 0, policyID: ref)
        }
        XCTAssertEqual(
            Flow.decode(dnsRecord, directory: directory, monotonicToWallOffsetNs: 0).egressDeniedBy, [policy])
    }
}
