import CSluiceShared
import Flows
import SluiceModel

/// Ring records of every kind the proxy and the datapath write (`FlowRecordWriter`), with their
/// fields drawn from a seeded generator: HTTP requests and responses (methods, codes, HTTP/1.0,
/// 1.1, 2, TLS), DNS queries and answers (qtypes, rcodes, answer addresses and types, drops), L3/L4
/// traces (observation points, trace reasons, TCP flags), policy verdicts (match types, the host
/// and an unknown source identity), drops (reasons, replies), ICMP and ICMPv6 messages, UDP and
/// SCTP, plus the endpoint directory that names them. Shared by HubbleMetricsTests and
/// HubbleObserverTests (metrics and history from raw records held equal to the decoded path).
public enum RecordSamples {
    public static func ip(_ text: String) -> UInt32 { IPv4Address(text)!.networkOrder }

    public static let directory = EndpointDirectory(
        file: .init(
            nodeName: "sluice-node",
            endpoints: [
                .init(
                    id: 11, namespace: "frontend", pod: "client-7d4b9c", ipv4: "10.244.1.10", identity: 1000,
                    labels: ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=frontend"]),
                .init(
                    id: 12, namespace: "backend", pod: "server-5f6a8b", ipv4: "10.244.2.20", identity: 1001,
                    labels: ["k8s:app=server", "k8s:io.kubernetes.pod.namespace=backend"]),
            ],
            identities: [.init(identity: 102, labels: ["k8s:k8s-app=kube-dns"])]))

    /// `count` records; the same `seed` gives the same records.
    public static func make(count: Int, seed: UInt64 = 17) -> [sluice_flow] {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        func pick<T>(_ values: [T]) -> T { values[next(values.count)] }
        let addresses = [ip("10.244.1.10"), ip("10.244.2.20"), ip("10.244.0.10"), ip("93.184.216.34"), ip("10.0.0.1")]
        var out: [sluice_flow] = []
        var rec = sluice_flow()
        for i in 0..<count {
            var common = FlowCommon(
                timeNs: 1_000_000_000 + UInt64(i) * 1_000, verdict: pick([.forwarded, .dropped, .redirected, .audit]),
                direction: pick([.ingress, .egress, .unknown]), isReply: pick([nil, true, false]),
                srcIP: pick(addresses), dstIP: pick(addresses), srcPort: UInt16(30000 + next(5)),
                dstPort: pick([80, 53, 8080, 443, 40001]), l4Proto: pick([FlowCommon.tcp, FlowCommon.udp]),
                srcIdentity: pick([0, 1, 2, 1000, 1001, 102]), dstIdentity: pick([0, 2, 1000, 1001, 102]),
                srcEndpoint: pick([0, 11, 12, 99]), dstEndpoint: pick([0, 11, 12]))
            common.tcpFlags = Flow.TCPFlags(rawValue: UInt8(next(64)))
            func text(_ s: String, _ body: (UnsafeRawBufferPointer) -> Void) {
                var s = s
                s.withUTF8 { body(UnsafeRawBufferPointer($0)) }
            }
            withUnsafeMutablePointer(to: &rec) { p in
                switch next(7) {
                case 0, 1:
                    let l7Type: Flow.L7FlowType = pick([.request, .response])
                    text(pick(["GET", "POST", "DELETE", "PROPFIND-LONGER-THAN-16"])) { method in
                        text("backend.backend.svc") { authority in
                            text(pick(["/", "/anything/x", "/admin?q=1"])) { path in
                                FlowRecordWriter.writeHTTP(
                                    p, common: common, l7Type: l7Type, method: method, scheme: "http",
                                    authority: authority, path: path,
                                    code: l7Type == .response ? pick([200, 403, 503, 0]) : 0,
                                    latencyNs: UInt64(next(3_000_000_000)),
                                    proto: pick([.http10, .http11, .http2, .tls]))
                            }
                        }
                    }
                case 2:
                    let l7Type: Flow.L7FlowType = pick([.request, .response])
                    text(pick(["backend.backend.svc.cluster.local.", "example.com."])) { query in
                        FlowRecordWriter.writeDNS(
                            p, common: common, l7Type: l7Type, query: query, qtype: pick([1, 28, 5, 0, 65]),
                            rcode: pick([0, 3, 2, 30]), ttl: 30, rrtypes: DNSAnswerTypes(rawValue: UInt16(next(16))),
                            latencyNs: UInt64(next(200_000_000)))
                    }
                    for _ in 0..<next(4) { FlowRecordWriter.appendDNSAddress(p, ipv4NetworkOrder: pick(addresses)) }
                    if next(4) == 0 {
                        var v6 = [UInt8](repeating: 0, count: 16)
                        v6[0] = 0xfd
                        v6[15] = 1
                        v6.withUnsafeBytes { _ = FlowRecordWriter.appendDNSAddress(p, ipv6: $0) }
                    }
                case 3:
                    common.eventType = Flow.EventType.trace
                    FlowRecordWriter.writeL3L4(p, common: common)
                    p.pointee.trace_point = UInt8(pick([0, 1, 3, 5, 12]))
                    p.pointee.trace_reason = UInt8(next(5))
                case 4:
                    common.eventType = Flow.EventType.policyVerdict
                    FlowRecordWriter.writeL3L4(p, common: common)
                    p.pointee.policy_match = UInt8(next(5))
                case 5:
                    common.dropReason = pick([.policyDenied, .policyDeny, .invalidSourceIP, DropReason(rawValue: 7)])
                    FlowRecordWriter.writeL3L4Drop(p, common: common)
                    p.pointee.is_reply = UInt8(next(3))
                default:
                    common.eventType = pick([Flow.EventType.trace, Flow.EventType.drop, Flow.EventType.policyVerdict])
                    common.l4Proto = pick([FlowCommon.icmp, FlowCommon.icmpv6, FlowCommon.sctp, FlowCommon.udp])
                    FlowRecordWriter.writeL3L4(p, common: common)
                    p.pointee.icmp_type = UInt8(pick([0, 3, 8, 11, 128, 129]))
                    p.pointee.icmp_code = UInt8(next(4))
                    if next(3) == 0 {
                        // IPv6 addresses: ICMPv6 needs them, and the directory's IPv4 lookups must not run.
                        p.pointee.ip_version = 6
                        withUnsafeMutableBytes(of: &p.pointee.src_ip) {
                            $0[0] = 0xfd; $0[15] = 2
                        }
                    }
                }
            }
            out.append(rec)
        }
        return out
    }
}
