import CSluiceShared
import SluiceModel

@testable import Flows

/// Shared values for the Flows tests: the endpoints of reference §5.3/§5.4 and record builders that go through
/// `FlowRecordWriter` and `Flow.decode`, as the proxy and `sluice observe` do.
enum FlowFixtures {
    /// 2026-08-01T10:00:00Z.
    static let baseSeconds: Int64 = 1_785_578_400
    /// Monotonic clock value of `baseSeconds` in these tests.
    static let monotonicBase: UInt64 = 5_000_000_000
    static let offsetNs = baseSeconds * 1_000_000_000 - Int64(monotonicBase)

    static let client = EndpointDirectory.Endpoint(
        id: 1203, namespace: "default", pod: "client-7d9f", ipv4: "10.0.1.23", identity: 11231,
        labels: ["k8s:io.kubernetes.pod.namespace=default", "k8s:app=client"])
    static let server = EndpointDirectory.Endpoint(
        id: 877, namespace: "default", pod: "server-5c6b", ipv4: "10.0.2.45", identity: 22411,
        labels: ["k8s:app=server", "k8s:io.kubernetes.pod.namespace=default"])
    static let coredns = EndpointDirectory.Endpoint(
        id: 3001, namespace: "kube-system", pod: "coredns-6f6b", ipv4: "10.0.0.91", identity: 48125,
        labels: ["k8s:k8s-app=kube-dns"])

    static let directory = EndpointDirectory(
        file: .init(
            nodeName: "kind-worker", endpoints: [client, server, coredns],
            identities: [.init(identity: 16_777_217, labels: ["cidr:1.2.3.4/32", "reserved:world"])]))

    /// IPv4 text to the network-order value the record stores.
    static func ip(_ text: String) -> UInt32 { IPv4Address(text)?.networkOrder ?? 0 }

    /// Monotonic nanoseconds of `base + seconds + millis`.
    static func mono(seconds: UInt64 = 0, millis: UInt64) -> UInt64 {
        monotonicBase + seconds * 1_000_000_000 + millis * 1_000_000
    }

    static func common(
        _ verdict: Flow.Verdict, from a: EndpointDirectory.Endpoint, _ sport: UInt16,
        to b: EndpointDirectory.Endpoint, _ dport: UInt16, time: UInt64,
        proto: UInt8 = FlowCommon.tcp, direction: Flow.TrafficDirection = .ingress,
        local: Bool = true
    ) -> FlowCommon {
        FlowCommon(
            timeNs: time, verdict: verdict, direction: direction, srcIP: ip(a.ipv4), dstIP: ip(b.ipv4),
            srcPort: sport, dstPort: dport, l4Proto: proto, srcIdentity: a.identity, dstIdentity: b.identity,
            srcEndpoint: local ? a.id : 0, dstEndpoint: local ? b.id : 0)
    }

    /// Runs `write` on a zeroed record whose `commit` is preset to a marker, checks the marker survived, decodes.
    static func record(_ write: (UnsafeMutablePointer<sluice_flow>) -> Void) -> (sluice_flow, Flow) {
        var rec = sluice_flow()
        rec.commit = 0xC0FFEE
        withUnsafeMutablePointer(to: &rec) { write($0) }
        return (rec, Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: offsetNs))
    }

    static func http(
        _ common: FlowCommon, _ type: Flow.L7FlowType, method: String, path: String,
        code: UInt16 = 0, latencyNs: UInt64 = 0, authority: String = "server.default",
        proto: Flow.L7Protocol = .http11
    ) -> Flow {
        record { p in
            bytes(method) { m in
                bytes(authority) { a in
                    bytes(path) { pa in
                        FlowRecordWriter.writeHTTP(
                            p, common: common, l7Type: type, method: m, scheme: "http",
                            authority: a, path: pa, code: code, latencyNs: latencyNs,
                            proto: proto)
                    }
                }
            }
        }.1
    }

    static func dns(
        _ common: FlowCommon, _ type: Flow.L7FlowType, query: String, rcode: UInt16 = 0, ttl: UInt32 = 0,
        ips: [String] = [], rrtypes: DNSAnswerTypes = []
    ) -> Flow {
        record { p in
            bytes(query) { q in
                FlowRecordWriter.writeDNS(
                    p, common: common, l7Type: type, query: q, qtype: 1, rcode: rcode, ttl: ttl,
                    rrtypes: rrtypes, latencyNs: 0)
            }
            for a in ips { FlowRecordWriter.appendDNSAddress(p, ipv4NetworkOrder: ip(a)) }
        }.1
    }

    static func bytes<R>(_ s: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        Array(s.utf8).withUnsafeBytes(body)
    }

    /// Every flow of the compact examples of reference §5.4, in order.
    static var compactExamples: [Flow] {
        let req = common(.forwarded, from: client, 43210, to: server, 80, time: mono(millis: 123))
        let denied = common(.dropped, from: client, 43211, to: server, 80, time: mono(millis: 300))
        var deniedResponse = denied.swapped()
        deniedResponse.verdict = .forwarded
        var respCommon = req.swapped()
        respCommon.timeNs = mono(millis: 127)
        var dnsReq = common(
            .forwarded, from: client, 51515, to: coredns, 53, time: mono(seconds: 1, millis: 0),
            proto: FlowCommon.udp, direction: .egress)
        var dnsResp = dnsReq.swapped()
        dnsResp.timeNs = mono(seconds: 1, millis: 4)
        let dnsDenied = common(
            .dropped, from: client, 51516, to: coredns, 53, time: mono(seconds: 1, millis: 200),
            proto: FlowCommon.udp, direction: .egress)
        var syn = common(.dropped, from: client, 43212, to: server, 8080, time: mono(seconds: 2, millis: 500))
        syn.tcpFlags = .syn
        syn.dropReason = .policyDenied
        var verdictCommon = syn
        verdictCommon.eventType = Flow.EventType.policyVerdict
        dnsReq.isReply = false
        return [
            http(req, .request, method: "GET", path: "/public"),
            http(respCommon, .response, method: "GET", path: "/public", code: 200, latencyNs: 4_200_000),
            http(denied, .request, method: "DELETE", path: "/admin"),
            http(deniedResponse, .response, method: "DELETE", path: "/admin", code: 403),
            dns(dnsReq, .request, query: "cilium.io."),
            dns(dnsResp, .response, query: "cilium.io.", ttl: 300, ips: ["104.198.14.52"], rrtypes: .a),
            dns(dnsDenied, .request, query: "evil.example."),
            record { FlowRecordWriter.writeL3L4($0, common: verdictCommon) }.1,
            record { FlowRecordWriter.writeL3L4Drop($0, common: syn) }.1,
        ]
    }
}
