import CSluiceShared
import Flows
import SluiceTestSupport
import XCTest

@testable import HubbleMetrics

final class HubbleMetricsRegistryRecordTests: XCTestCase {
    /// Counts `records` both ways: decoded (`process(_:)`) and from the records; returns both
    /// expositions and how many records the record path decoded.
    /// With `twice`, the records go through twice and only the second round's decodes are counted.
    func countBothWays(_ options: String, _ records: [sluice_flow], twice: Bool = false) throws -> (String, String, Int)
    {
        let decoded = try HubbleMetricsRegistry(options: options)
        let raw = try HubbleMetricsRegistry(options: options)
        var decodes = 0
        for (i, rec) in (twice ? records + records : records).enumerated() {
            if i == records.count { decodes = 0 }
            let flow = Flow.decode(rec, directory: RecordSamples.directory, monotonicToWallOffsetNs: 0)
            decoded.process(flow)
            raw.process(record: rec) {
                decodes += 1
                return Flow.decode(rec, directory: RecordSamples.directory, monotonicToWallOffsetNs: 0)
            }
        }
        return (decoded.render(), raw.render(), decodes)
    }

    func testCountsFromRecordsEqualTheDecodedFlowsOnEveryRecordKind() throws {
        let records = RecordSamples.make(count: 6_000)
        for options in [
            MetricsConfig.sandboxDefault, "flow,drop,tcp,icmp,port-distribution,policy,http,dns:ignoreAAAA",
            "httpV2:exemplars=true,dns",
        ] {
            let (decoded, raw, decodes) = try countBothWays(options, records, twice: true)
            XCTAssertEqual(raw, decoded, options)
            XCTAssertTrue(decoded.contains("hubble_flows_processed_total") || !options.contains("flow"), options)
            XCTAssertTrue(decoded.contains("sluice_upstream_latency_seconds_bucket"), options)
            // Once every key was seen, only policy verdicts of an unknown source identity are decoded.
            let unknownSource = records.filter {
                Int32($0.event_type) == Flow.EventType.policyVerdict && $0.src_identity == 0
            }
            XCTAssertEqual(decodes, unknownSource.count, options)
            XCTAssertTrue(try HubbleMetricsRegistry(options: options).countsFromRecords, options)
        }
    }

    /// Records of known keys move their counters once per poll (`applyPendingCounts`), by the
    /// key's count; the families a reader gets from the registry (`family`, `families`, `render`)
    /// have every record counted all the same, between polls too.
    func testCountsOfRecordsWaitForThePollsEndYetEveryReaderSeesThemAll() throws {
        let records = RecordSamples.make(count: 3_000, seed: 11)
        let decoded = try HubbleMetricsRegistry(options: MetricsConfig.sandboxDefault)
        let raw = try HubbleMetricsRegistry(options: MetricsConfig.sandboxDefault)
        func total(_ family: (any MetricFamily)?) -> UInt64 {
            (family as? CounterFamily)?.values.values.reduce(0, +) ?? 0
        }
        // The flow handler's family as held (not through the registry, which applies first).
        let flows = try XCTUnwrap(raw.handlers.flatMap(\.families).first { $0.name == "hubble_flows_processed_total" })
        for (round, slice) in [records[..<1_000], records[1_000...], records[..<1_000]].enumerated() {
            for rec in slice {
                decoded.process(Flow.decode(rec, directory: RecordSamples.directory, monotonicToWallOffsetNs: 0))
                raw.process(record: rec) {
                    Flow.decode(rec, directory: RecordSamples.directory, monotonicToWallOffsetNs: 0)
                }
            }
            if round == 2 {
                // Every key known: the third poll's counts all wait, in few entries.
                XCTAssertGreaterThan(raw.pending.touched, 0)
                XCTAssertLessThan(raw.pending.touched, 1_000)
                XCTAssertLessThan(total(flows), total(decoded.family("hubble_flows_processed_total")))
            }
            XCTAssertEqual(
                total(raw.family("hubble_flows_processed_total")),
                total(decoded.family("hubble_flows_processed_total")),
                "round \(round)")
            XCTAssertEqual(raw.pending.touched, 0)
            XCTAssertEqual(total(flows), [1_000, 3_000, 4_000][round])
            XCTAssertEqual(raw.render(), decoded.render())
        }
    }

    func testHandlersThatReadNamesDecodeEveryRecordAndStillCountTheSame() throws {
        let records = RecordSamples.make(count: 2_000, seed: 5)
        for options in [
            "flow:sourceContext=namespace", "flows-to-world:port", "dns:query",
            "httpV2:labelsContext=source_namespace,destination_namespace",
        ] {
            XCTAssertFalse(try HubbleMetricsRegistry(options: options).countsFromRecords, options)
            let (decoded, raw, decodes) = try countBothWays(options, records)
            XCTAssertEqual(raw, decoded, options)
            XCTAssertEqual(decodes, records.count, options)
        }
    }

    func testMethodWordsKeepExactlyTheMethodsBytesAtEveryLength() {
        let bytes: [UInt8] = (0..<16).map { 0xA0 | UInt8($0) }
        for length in 0...16 {
            var want: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &want) { $0.copyBytes(from: bytes.prefix(length)) }
            let got = bytes.withUnsafeBytes { HubbleMetricsRegistry.methodWords($0.baseAddress!, length: length) }
            XCTAssertEqual(got.0, want.0, "length \(length)")
            XCTAssertEqual(got.1, want.1, "length \(length)")
        }
    }

    func testKeysIgnoreTheBytesPastTheMethodAndTheFieldsNoHandlerReads() throws {
        let registry = try HubbleMetricsRegistry(options: MetricsConfig.sandboxDefault)
        var a = RecordSamples.make(count: 1)[0]
        a.flow_type = Flow.FlowType.l7.rawValue
        a.l7_proto = Flow.L7Protocol.http11.rawValue
        a.l7.http.method_len = 3
        var b = a
        withUnsafeMutableBytes(of: &b.l7.http.method) { $0[5] = 0x41 }
        b.src_port &+= 1
        b.dst_port &+= 1
        b.latency_ns &+= 5
        b.time_ns &+= 9
        XCTAssertEqual(registry.recordKey(a), registry.recordKey(b))
        b.l7.http.code &+= 1
        XCTAssertNotEqual(registry.recordKey(a), registry.recordKey(b))
        var c = a
        c.event_type = UInt8(Flow.EventType.policyVerdict)
        c.src_identity = 0
        XCTAssertNil(registry.recordKey(c), "the source's identity is the directory's")
        let ports = try HubbleMetricsRegistry(options: "port-distribution")
        var d = a
        d.dst_port &+= 1
        XCTAssertNotEqual(ports.recordKey(a), ports.recordKey(d))
    }

    /// More keys than the front cache has slots: every key is found as the table holds it, and
    /// the key is six whole words (== and the quick hash read exactly its bytes).
    func testTheFrontCacheFindsWhatTheTableHolds() throws {
        XCTAssertEqual(MemoryLayout<HubbleMetricsRegistry.RecordKey>.size, 48)
        let registry = try HubbleMetricsRegistry(options: "port-distribution,flow,httpV2,dns,drop,tcp,policy")
        let records = RecordSamples.make(count: 4_000, seed: 8).enumerated().map { i, rec in
            var r = rec
            r.dst_port = UInt16(i % 700)
            return r
        }
        for rec in records {
            registry.process(record: rec) {
                Flow.decode(rec, directory: RecordSamples.directory, monotonicToWallOffsetNs: 0)
            }
        }
        XCTAssertGreaterThan(registry.recordEffects.count, 2 * HubbleMetricsRegistry.RecordEffectsTable.cacheSize)
        for (key, entry) in registry.recordEffects.index {
            XCTAssertEqual(registry.recordEffects.find(key), entry)
            XCTAssertEqual(registry.recordEffects.find(key), entry, "from the cache")
        }
    }

    /// The offsets `recordKey` reads as constants are the C layout's.
    func testTheKeyOffsetsAreTheLayouts() {
        typealias O = HubbleMetricsRegistry.RecordOffsets
        XCTAssertEqual(O.l7, MemoryLayout<sluice_flow>.offset(of: \sluice_flow.l7))
        // The sixteen one-byte fields the key takes whole, and nothing else, lie in bytes 76..<92.
        let byteFields: [KeyPath<sluice_flow, UInt8>] = [
            \.ip_version, \.l4_proto, \.verdict, \.flow_type, \.event_type, \.drop_reason, \.direction,
            \.is_reply, \.tcp_flags, \.l7_type, \.l7_proto, \.icmp_type, \.icmp_code, \.trace_point,
            \.trace_reason, \.policy_match,
        ]
        let offsets = byteFields.compactMap { MemoryLayout<sluice_flow>.offset(of: $0) }.sorted()
        XCTAssertEqual(offsets, Array(O.byteFields..<(O.byteFields + 16)))
        XCTAssertEqual(O.httpCode, MemoryLayout<sluice_flow_http>.offset(of: \sluice_flow_http.code))
        XCTAssertEqual(O.httpMethodLength, MemoryLayout<sluice_flow_http>.offset(of: \sluice_flow_http.method_len))
        XCTAssertEqual(O.httpMethod, MemoryLayout<sluice_flow_http>.offset(of: \sluice_flow_http.method))
        XCTAssertEqual(O.dnsQtype, MemoryLayout<sluice_flow_dns>.offset(of: \sluice_flow_dns.qtype))
        XCTAssertEqual(O.dnsRcode, MemoryLayout<sluice_flow_dns>.offset(of: \sluice_flow_dns.rcode))
        XCTAssertEqual(O.dnsIPCount, MemoryLayout<sluice_flow_dns>.offset(of: \sluice_flow_dns.n_ips))
        XCTAssertEqual(O.dnsTypes, MemoryLayout<sluice_flow_dns>.offset(of: \sluice_flow_dns.rrtypes_mask))
    }
}
