import CSluiceShared
import Datapath
import Flows
import Glibc
import HubbleMetrics
import HubbleObserver
import HubbleProto
import ObserverHTTP
import ServiceMap
import SluiceIO
import SluiceModel
import SluiceTestSupport

/// The observer's per-flow cost (issue 17), stage by stage, on records the proxy's own writer
/// fills: a keep-alive GET as the sandbox sees it (HTTP request, HTTP response, the L3/L4
/// forwarded trace of the connection) plus DNS queries and answers, with a sandbox-shaped
/// endpoint directory. Stages as `sluice-observer` runs them: `Flow.decode` + `FlowUUID`
/// (FlowRingReader), `FlowHistory.append` (4095 kept), the metrics handlers the sandbox enables
/// (`MetricsConfig.sandboxDefault`), `ServiceMap.add`, and the protobuf `GetFlowsResponse` a
/// `follow` client gets.
enum ObserverBenchmark {
    static let kinds = 8

    static func run() throws {
        let stride = MemoryLayout<sluice_flow>.stride
        let ring = UnsafeMutableRawPointer.allocate(byteCount: stride * kinds, alignment: 64)
        defer { ring.deallocate() }
        ring.initializeMemory(as: UInt8.self, repeating: 0, count: stride * kinds)
        func raw(_ s: StaticString) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
        }
        func ip(_ text: String) -> UInt32 { IPv4Address(text)!.networkOrder }
        let client = ip("10.244.1.10"), server = ip("10.244.2.20"), dns = ip("10.244.0.10")
        let request = FlowCommon(
            timeNs: 1_000_000, verdict: .forwarded, direction: .ingress, srcIP: client, dstIP: server,
            srcPort: 40000, dstPort: 80, l4Proto: FlowCommon.tcp, srcIdentity: 1000, dstIdentity: 1001,
            srcEndpoint: 11, dstEndpoint: 12)
        var records: [UnsafeMutablePointer<sluice_flow>] = []
        for i in 0..<kinds { records.append((ring + i * stride).assumingMemoryBound(to: sluice_flow.self)) }
        var trace = request
        trace.tcpFlags = [.ack, .psh]
        var denied = request
        denied.verdict = .dropped
        let query = FlowCommon(
            timeNs: 2_000_000, verdict: .forwarded, direction: .egress, srcIP: client, dstIP: dns, srcPort: 50000,
            dstPort: 53, l4Proto: FlowCommon.udp, srcIdentity: 1000, dstIdentity: 102, srcEndpoint: 11)
        var drop = request
        drop.dstPort = 8080
        let authority = raw("backend.backend.svc.cluster.local")
        /// Writes record kind `kind` at `p` as the proxy does (only its used bytes).
        func write(_ kind: Int, _ p: UnsafeMutablePointer<sluice_flow>) {
            switch kind {
            case 0:  // A keep-alive GET: request, response, and the connection's L3/L4 trace.
                FlowRecordWriter.writeHTTP(
                    p, common: request, l7Type: .request, method: raw("GET"), scheme: "http", authority: authority,
                    path: raw("/anything/x"), code: 0, latencyNs: 0, proto: .http11)
            case 1:
                FlowRecordWriter.writeHTTP(
                    p, common: request.swapped(), l7Type: .response, method: raw("GET"), scheme: "http",
                    authority: authority, path: raw("/anything/x"), code: 200, latencyNs: 180_000, proto: .http11)
            case 2:
                FlowRecordWriter.writeL3L4(p, common: trace)
            case 3:  // A denied request and its 403.
                FlowRecordWriter.writeHTTP(
                    p, common: denied, l7Type: .request, method: raw("POST"), scheme: "http", authority: authority,
                    path: raw("/admin"), code: 0, latencyNs: 0, proto: .http11)
            case 4:
                FlowRecordWriter.writeHTTP(
                    p, common: denied.swapped(), l7Type: .response, method: raw("POST"), scheme: "http",
                    authority: authority, path: raw("/admin"), code: 403, latencyNs: 20_000, proto: .http11)
            case 5:  // DNS query and answer.
                FlowRecordWriter.writeDNS(
                    p, common: query, l7Type: .request, query: raw("backend.backend.svc.cluster.local."), qtype: 1,
                    rcode: 0, ttl: 0, rrtypes: [], latencyNs: 0)
            case 6:
                FlowRecordWriter.writeDNS(
                    p, common: query.swapped(), l7Type: .response, query: raw("backend.backend.svc.cluster.local."),
                    qtype: 1, rcode: 0, ttl: 30, rrtypes: [.a], latencyNs: 90_000)
                _ = FlowRecordWriter.appendDNSAddress(p, ipv4NetworkOrder: server)
            default:  // An L3/L4 drop.
                FlowRecordWriter.writeL3L4Drop(p, common: drop)
            }
        }
        for i in 0..<kinds { write(i, records[i]) }
        let directory = RecordSamples.directory
        let seed = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/1234/1733355000.123456789"
        let n = 200_000
        let recs = records.map { $0.pointee }
        // The per-request mix of scenario 80's get-ka: request, response, trace (records 0-2).
        let mixes = [("get-ka mix (request, response, trace)", [0, 1, 2]), ("all kinds", Array(0..<kinds))]
        for (name, mix) in mixes {
            var flows: [Flow] = []
            flows.reserveCapacity(n)
            let decodeNs = timed {
                for i in 0..<n {
                    var flow = Flow.decode(recs[mix[i % mix.count]], directory: directory, monotonicToWallOffsetNs: 1)
                    flow.uuid = FlowUUID.make(seed: seed, seq: UInt64(i))
                    flow.emitter = .sluice
                    flows.append(flow)
                }
            }
            var history = FlowHistory(capacity: 4095)
            let historyNs = timed { for flow in flows { history.append(flow) } }
            let registry = try HubbleMetricsRegistry(options: MetricsConfig.sandboxDefault)
            let metricsNs = timed { for flow in flows { registry.process(flow) } }
            var map = ServiceMap()
            let mapNs = timed { for flow in flows { map.add(flow) } }
            var bytes = 0
            let protoNs = timed { for flow in flows { bytes &+= GetFlowsResponse.flow(flow).count } }
            check(history.seenFlows == UInt64(n), "history saw \(history.seenFlows)")
            check(registry.render().contains("hubble_flows_processed_total"), "no flows counted")
            check(!map.snapshot().edges.isEmpty, "no service-map edges")
            check(bytes > n * 50, "follow messages too short: \(bytes / n) bytes")
            let d = Double(n)
            let stages = [decodeNs, historyNs, metricsNs, mapNs, protoNs].map { $0 / d }
            print(
                "observer, \(name): ns/flow decode+uuid \(Int(stages[0])), history \(Int(stages[1])), "
                    + "metrics \(Int(stages[2])), service map \(Int(stages[3])), follow proto \(Int(stages[4])), "
                    + "total \(Int(stages.reduce(0, +)))")
        }
        // Steady state, as the observer runs: each decoded flow replaces one of `live` (the
        // history's 4095 are the flows alive there), so no stage pays for first-touch of memory.
        let live = 4096
        for (name, mix) in mixes {
            var flows: [Flow] = []
            for i in 0..<live {
                flows.append(Flow.decode(recs[mix[i % mix.count]], directory: directory, monotonicToWallOffsetNs: 1))
            }
            let decodeNs = timed {
                for i in 0..<n {
                    var flow = Flow.decode(recs[mix[i % mix.count]], directory: directory, monotonicToWallOffsetNs: 1)
                    flow.uuid = FlowUUID.make(seed: seed, seq: UInt64(i))
                    flow.emitter = .sluice
                    flows[i % live] = flow
                }
            }
            var history = FlowHistory(capacity: 4095)
            let historyNs = timed { for i in 0..<n { history.append(flows[i % live]) } }
            let registry = try HubbleMetricsRegistry(options: MetricsConfig.sandboxDefault)
            let metricsNs = timed { for i in 0..<n { registry.process(flows[i % live]) } }
            var map = ServiceMap()
            let mapNs = timed { for i in 0..<n { map.add(flows[i % live]) } }
            var bytes = 0
            let protoNs = timed { for i in 0..<n { bytes &+= GetFlowsResponse.flow(flows[i % live]).count } }
            // What a follow stream sends now: framed in place, endpoints from the stream's cache.
            let cache = FlowProto.EndpointCache()
            var framedBytes = 0
            let framedNs = timed {
                for i in 0..<n { framedBytes &+= GetFlowsResponse.framedFlow(flows[i % live], cache: cache).count }
            }
            check(framedBytes == bytes + 5 * n, "the framed, cached encoding differs in length")
            check(history.seenFlows == UInt64(n), "history saw \(history.seenFlows)")
            check(!map.snapshot().edges.isEmpty && bytes > n * 50, "nothing mapped or encoded")
            let stages = [decodeNs, historyNs, metricsNs, mapNs, protoNs].map { $0 / Double(n) }
            let rawNs = try recordPath(recs, mix: mix, directory: directory, seed: seed, n: n)
            print(
                "observer steady, \(name): ns/flow decode+uuid \(Int(stages[0])), history \(Int(stages[1])), "
                    + "metrics \(Int(stages[2])), service map \(Int(stages[3])), follow proto \(Int(stages[4])), "
                    + "total \(Int(stages.reduce(0, +))); follow proto framed + endpoint cache "
                    + "\(Int(framedNs / Double(n)))")
            print(
                "observer records, \(name): ns/flow record history \(Int(rawNs.history)), metrics from records "
                    + "\(Int(rawNs.metrics)), total \(Int(rawNs.history + rawNs.metrics)) (no decode: the metrics-only "
                    + "observer); with a follow stream add decode \(Int(stages[0])) and follow proto framed "
                    + "\(Int(framedNs / Double(n)))")
        }
        try ingestPath(mixes, write: write)
    }

    /// The metrics-only observer as it runs, end to end: records written into a real pinned flow
    /// ring (bpf/*.o loaded into a pin directory of the bench's own, nothing attached) as the
    /// proxy writes them, then `Observer.pollOnce` with the metrics service (the sandbox's set)
    /// hosted: the ring cursor, the copy into the history, GetNamespaces bookkeeping and the
    /// metrics, per poll of `batch` records. Only the polls are timed.
    static func ingestPath(
        _ mixes: [(String, [Int])], write: (Int, UnsafeMutablePointer<sluice_flow>) -> Void
    ) throws {
        let pin = "/sys/fs/bpf/sluice-microbench-\(getpid())"
        let datapath = try Datapath.open(objectDirectory: "bpf", pinDirectory: pin)
        defer {
            datapath.close()
            try? Datapath.unpinAll(pinDirectory: pin)
        }
        let writer = try FlowRing.openForWriting(pinDirectory: pin)
        defer { writer.close() }
        let batch = 1024
        let rounds = 200
        for (name, mix) in mixes {
            var options = ObserverOptions()
            options.pinDirectory = pin
            options.stateDirectory = "/nonexistent"
            options.metricsAddress = ListenAddress(host: IPv4Address(127, 0, 0, 1), port: 0)
            let observer = try Observer(options: options)
            let metrics = MetricsService()
            try observer.host(metrics)
            var i = 0
            var ns = 0.0
            var seen: UInt64 = 0
            // 8 polls to warm up (the history's first lap), then `rounds` timed.
            for round in 0..<(rounds + 8) {
                if round == 8 {
                    ns = 0
                    seen = observer.history.seenFlows
                    i = 0
                }
                for _ in 0..<batch {
                    writer.appendWritten { write(mix[i % mix.count], $0) }
                    i += 1
                }
                let now = SystemClock.monotonicNs()
                ns += timed { observer.pollOnce(nowNs: now) }
            }
            check(
                observer.history.seenFlows - seen == UInt64(i),
                "the observer read \(observer.history.seenFlows - seen) of \(i)")
            check(observer.history.lostEvents == 0, "records lost")
            check(metrics.registry?.render().contains("hubble_flows_processed_total") ?? false, "nothing counted")
            print(
                "observer ingest, \(name): ns/flow \(Int(ns / Double(i))) (Observer.pollOnce on a pinned ring: "
                    + "cursor, history, namespaces, metrics; polls of \(batch) records)")
        }
    }

    /// The metrics-only observer's per-flow path since issue 17's redesign: the record kept in the
    /// history as it is (`FlowHistory.append(RawFlow)`) and counted from its fields
    /// (`HubbleMetricsRegistry.process(record:decode:)`); nothing decoded after the first record of a key.
    static func recordPath(
        _ recs: [sluice_flow], mix: [Int], directory: EndpointDirectory, seed: String, n: Int
    ) throws -> (history: Double, metrics: Double) {
        let context = FlowDecodeContext(directory: directory, seed: seed, nodeNameOverride: nil)
        let raws = mix.map { RawFlow(record: recs[$0], seq: 0, wallOffsetNs: 1, context: context) }
        var history = FlowHistory(capacity: 4095)
        let historyNs = timed {
            for i in 0..<n {
                var raw = raws[i % raws.count]
                raw.seq = UInt64(i)
                history.append(raw)
            }
        }
        let registry = try HubbleMetricsRegistry(options: MetricsConfig.sandboxDefault)
        let decoded = try HubbleMetricsRegistry(options: MetricsConfig.sandboxDefault)
        var decodes = 0
        let metricsNs = timed {
            for i in 0..<n {
                let raw = raws[i % raws.count]
                registry.process(record: raw.record) {
                    decodes += 1
                    return raw.decode()
                }
            }
        }
        for i in 0..<n { decoded.process(raws[i % raws.count].decode()) }
        check(history.seenFlows == UInt64(n), "record history saw \(history.seenFlows)")
        check(registry.render() == decoded.render(), "metrics from records differ from the decoded flows'")
        check(decodes <= raws.count, "\(decodes) decodes for \(raws.count) kinds")
        return (historyNs / Double(n), metricsNs / Double(n))
    }
}
