import CSluiceShared
import Flows
import HubbleObserver
import HubbleProto
import SluiceModel

/// A follow stream's per-flow cost (issue 17, stop 17), old path against new in the same run: the
/// old one decodes the record (`RawFlow.decode`: `Flow.decode`, uuid, emitter, node name) and
/// encodes the `Flow` (`GetFlowsResponse.framedFlow` with the endpoint cache); the new one encodes
/// the framed message straight from the record (`FlowRecordProto`), falling back to the old path
/// for the kinds it leaves out (DNS). Records as the proxy writes them; each result is checked
/// byte-equal to the old path's before timing.
enum FollowBenchmark {
    /// `newOnly`: time only the new path (`bash bench/micro.sh follow new`, to profile it).
    static func run(newOnly: Bool = false) throws {
        func raw(_ s: StaticString) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
        }
        func ip(_ text: String) -> UInt32 { IPv4Address(text)!.networkOrder }
        let client = ip("10.244.1.10"), server = ip("10.244.2.20"), dns = ip("10.244.0.10")
        let request = FlowCommon(
            timeNs: 1_000_000, verdict: .forwarded, direction: .ingress, srcIP: client, dstIP: server,
            srcPort: 40000, dstPort: 80, l4Proto: FlowCommon.tcp, srcIdentity: 1000, dstIdentity: 1001,
            srcEndpoint: 11, dstEndpoint: 12)
        var recs = [sluice_flow](repeating: sluice_flow(), count: 6)
        recs.withUnsafeMutableBufferPointer { r in
            let p = r.baseAddress!
            FlowRecordWriter.writeHTTP(
                p, common: request, l7Type: .request, method: raw("GET"), scheme: "http",
                authority: raw("backend.backend.svc.cluster.local"), path: raw("/anything/x"), code: 0,
                latencyNs: 0, proto: .http11)
            p.pointee.l7.http.policy_id = 1
            FlowRecordWriter.writeHTTP(
                p + 1, common: request.swapped(), l7Type: .response, method: raw("GET"), scheme: "http",
                authority: raw("backend.backend.svc.cluster.local"), path: raw("/anything/x"), code: 200,
                latencyNs: 180_000, proto: .http11)
            var trace = request
            trace.tcpFlags = [.ack, .psh]
            FlowRecordWriter.writeL3L4(p + 2, common: trace)
            let query = FlowCommon(
                timeNs: 2_000_000, verdict: .forwarded, direction: .egress, srcIP: client, dstIP: dns,
                srcPort: 50000, dstPort: 53, l4Proto: FlowCommon.udp, srcIdentity: 1000, dstIdentity: 102,
                srcEndpoint: 11)
            FlowRecordWriter.writeDNS(
                p + 3, common: query, l7Type: .request, query: raw("backend.backend.svc.cluster.local."),
                qtype: 1, rcode: 0, ttl: 0, rrtypes: [], latencyNs: 0)
            FlowRecordWriter.writeDNS(
                p + 4, common: query.swapped(), l7Type: .response, query: raw("backend.backend.svc.cluster.local."),
                qtype: 1, rcode: 0, ttl: 30, rrtypes: [.a], latencyNs: 90_000)
            _ = FlowRecordWriter.appendDNSAddress(p + 4, ipv4NetworkOrder: server)
            var drop = request
            drop.dstPort = 8080
            FlowRecordWriter.writeL3L4Drop(p + 5, common: drop)
        }
        var file = EndpointDirectory.File(
            nodeName: "sluice-node",
            endpoints: [
                .init(
                    id: 11, namespace: "frontend", pod: "client-7d4b9c", ipv4: "10.244.1.10", identity: 1000,
                    labels: ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=frontend"]),
                .init(
                    id: 12, namespace: "backend", pod: "server-5f6a8b", ipv4: "10.244.2.20", identity: 1001,
                    labels: ["k8s:app=server", "k8s:io.kubernetes.pod.namespace=backend"]),
            ],
            identities: [.init(identity: 102, labels: ["k8s:k8s-app=kube-dns"])])
        file.policies = [.init(ref: 1, kind: "CiliumNetworkPolicy", namespace: "backend", name: "allow-get")]
        let context = FlowDecodeContext(
            directory: EndpointDirectory(file: file),
            seed: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/1234/1733355000.123456789", nodeNameOverride: nil)
        // The same pods with label sets of the size Cilium gives pods (namespace labels, service
        // account, cluster): ~950-byte get-ka responses, as the sandbox's follow client receives.
        func labels(_ app: String, _ namespace: String) -> [String] {
            [
                "k8s:app=\(app)", "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=\(namespace)",
                "k8s:io.cilium.k8s.namespace.labels.name=\(namespace)", "k8s:io.cilium.k8s.policy.cluster=default",
                "k8s:io.cilium.k8s.policy.serviceaccount=default", "k8s:io.kubernetes.pod.namespace=\(namespace)",
            ]
        }
        var cilium = file
        cilium.endpoints[0].labels = labels("client", "frontend")
        cilium.endpoints[1].labels = labels("server", "backend")
        let ciliumContext = FlowDecodeContext(
            directory: EndpointDirectory(file: cilium), seed: context.seed, nodeNameOverride: nil)
        let n = 200_000
        let mixes = [
            ("get-ka mix (request, response, trace)", [0, 1, 2], context),
            ("all kinds", Array(0..<6), context),
            ("get-ka mix, Cilium-sized label sets", [0, 1, 2], ciliumContext),
        ]
        for (name, mix, context) in mixes {
            let raws = mix.map { RawFlow(record: recs[$0], seq: 7, wallOffsetNs: 1, context: context) }
            let encoder = FlowRecordProto(
                directory: context.directory, seed: context.seed, nodeName: context.nodeName)
            // The same encoder without templates: every record encoded whole (s20-obs's before).
            let whole = FlowRecordProto(
                directory: context.directory, seed: context.seed, nodeName: context.nodeName, usesTemplates: false)
            func new(_ raw: RawFlow, seq: UInt64, templates: Bool = true) -> [UInt8] {
                let framed = withUnsafePointer(to: raw.record) {
                    (templates ? encoder : whole).framed($0, seq: seq, wallOffsetNs: raw.wallOffsetNs)
                }
                if let framed { return framed }
                var flow = raw.decode()
                flow.uuid = FlowUUID.make(seed: raw.context.seed, seq: seq)
                return GetFlowsResponse.framedFlow(flow)
            }
            let cache = FlowProto.EndpointCache()
            func old(_ raw: RawFlow, seq: UInt64) -> [UInt8] {
                var flow = raw.decode()
                flow.uuid = FlowUUID.make(seed: raw.context.seed, seq: seq)
                return GetFlowsResponse.framedFlow(flow, cache: cache)
            }
            // Three passes: a key seen the first time, the second (its template made), then reused.
            for pass in 0..<3 {
                for (i, raw) in raws.enumerated() {
                    let seq = UInt64(pass * 100 + i)
                    check(new(raw, seq: seq) == old(raw, seq: seq), "record \(mix[i]), pass \(pass): new bytes differ")
                }
            }
            var oldBytes = 0, newBytes = 0
            // Alternate old and new three times; the best of each is printed.
            var oldNs = Double.infinity, newNs = Double.infinity, wholeNs = Double.infinity
            var wholeBytes = 0
            for _ in 0..<3 {
                wholeNs = min(
                    wholeNs,
                    timed {
                        for i in 0..<n {
                            wholeBytes &+= new(raws[i % raws.count], seq: UInt64(i), templates: false).count
                        }
                    })
                if newOnly {
                    oldNs = 0
                } else {
                    oldNs = min(
                        oldNs, timed { for i in 0..<n { oldBytes &+= old(raws[i % raws.count], seq: UInt64(i)).count } }
                    )
                }
                newNs = min(
                    newNs, timed { for i in 0..<n { newBytes &+= new(raws[i % raws.count], seq: UInt64(i)).count } })
            }
            check(newOnly || oldBytes == newBytes, "old and new sent different byte counts")
            check(wholeBytes == newBytes, "templates and whole encodings sent different byte counts")
            // In place, as a follow stream reads it (no array per flow), with and without templates.
            var inPlaceNs = (Double.infinity, Double.infinity)
            var inPlaceBytes = (0, 0)
            for _ in 0..<3 {
                for templates in [true, false] {
                    let e = templates ? encoder : whole
                    var bytes = 0
                    let ns = timed {
                        for i in 0..<n {
                            let raw = raws[i % raws.count]
                            bytes &+= withUnsafePointer(to: raw.record) {
                                e.framedInPlace($0, seq: UInt64(i), wallOffsetNs: raw.wallOffsetNs)?.count ?? 0
                            }
                        }
                    }
                    if templates {
                        inPlaceNs.0 = min(inPlaceNs.0, ns)
                        inPlaceBytes.0 = bytes
                    } else {
                        inPlaceNs.1 = min(inPlaceNs.1, ns)
                        inPlaceBytes.1 = bytes
                    }
                }
            }
            check(inPlaceBytes.0 == inPlaceBytes.1, "in place: templates and whole encodings differ in length")
            print(
                "follow, \(name): ns/flow old (decode + framed proto) \(Int(oldNs / Double(n))), "
                    + "new (framed proto from the record) \(Int(newNs / Double(n))) "
                    + "(without templates \(Int(wholeNs / Double(n))), \(encoder.templated) of \(encoder.encoded) encoded from templates), "
                    + "\(newBytes / (3 * n)) bytes/flow; records declined \(encoder.declined / 4) of \(4 * n); "
                    + "in place (covered records only): \(Int(inPlaceNs.0 / Double(n))) with templates, "
                    + "\(Int(inPlaceNs.1 / Double(n))) without")
        }
    }
}
