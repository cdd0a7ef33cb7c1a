import CSluiceShared
import Flows
import HubbleProto
import SluiceTestSupport
import XCTest

@testable import HubbleObserver

final class RawFlowTests: XCTestCase {
    static let context = FlowDecodeContext(
        directory: RecordSamples.directory, seed: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/1/1", nodeNameOverride: nil)

    static func raws(_ count: Int, seed: UInt64 = 17) -> [RawFlow] {
        RecordSamples.make(count: count, seed: seed).enumerated().map {
            RawFlow(
                record: $0.element, seq: UInt64($0.offset), wallOffsetNs: 1_700_000_000_000_000_000, context: context)
        }
    }

    func testDecodeIsTheReadersDecodeAndTimeAndNamespacesNeedNoDecode() {
        for raw in Self.raws(3_000) {
            let flow = raw.decode()
            var expected = Flow.decode(
                raw.record, directory: RecordSamples.directory, monotonicToWallOffsetNs: raw.wallOffsetNs)
            expected.uuid = FlowUUID.make(seed: Self.context.seed, seq: raw.seq)
            expected.emitter = .sluice
            XCTAssertEqual(flow, expected)
            XCTAssertEqual(raw.time, flow.time)
            let (source, destination) = Self.context.namespaces(raw.record)
            XCTAssertEqual(source, flow.source?.namespace ?? "")
            XCTAssertEqual(destination, flow.destination?.namespace ?? "")
        }
    }

    func testNodeNameTheOverrideThenTheDirectoryThenSluiceNode() {
        XCTAssertEqual(Self.context.nodeName, "sluice-node")
        let named = FlowDecodeContext(directory: RecordSamples.directory, seed: "", nodeNameOverride: "node-b")
        XCTAssertEqual(named.nodeName, "node-b")
        XCTAssertEqual(
            RawFlow(record: sluice_flow(), seq: 0, wallOffsetNs: 0, context: named).decode().nodeName, "node-b")
        let empty = FlowDecodeContext(directory: EndpointDirectory(), seed: "", nodeNameOverride: nil)
        XCTAssertEqual(empty.nodeName, "sluice-node")
        XCTAssertEqual(
            RawFlow(record: sluice_flow(), seq: 0, wallOffsetNs: 0, context: empty).decode().nodeName, "sluice-node")
    }

    /// GetFlows from a history of records answers what it answered from the decoded flows.
    func testGetFlowsFromRecordsEqualsGetFlowsFromDecodedFlows() throws {
        let raws = Self.raws(700, seed: 3)
        var rawHistory = FlowHistory(capacity: 500)
        var decodedHistory = FlowHistory(capacity: 500)
        for raw in raws {
            rawHistory.append(raw)
            decodedHistory.append(raw.decode())
        }
        XCTAssertEqual(rawHistory.count, decodedHistory.count)
        XCTAssertEqual(rawHistory.seenFlows, decodedHistory.seenFlows)
        XCTAssertEqual(rawHistory.oldestTime, decodedHistory.oldestTime)
        XCTAssertEqual(rawHistory.newestTime, decodedHistory.newestTime)
        XCTAssertEqual(rawHistory.entries.map(\.index), decodedHistory.entries.map(\.index))
        XCTAssertEqual(rawHistory.entries.map(\.flow), decodedHistory.entries.map(\.flow))
        let times = raws.map(\.time)
        var dropped = FlowFilter.Criteria()
        dropped.verdict = [2]
        var backendGET = FlowFilter.Criteria()
        backendGET.destinationPod = ["backend/"]
        backendGET.httpMethod = ["GET"]
        var dns = FlowFilter.Criteria()
        dns.protocol = ["dns"]
        let requests: [(String, (inout GetFlowsRequest) -> Void)] = [
            ("all", { _ in }),
            ("number", { $0.number = 20 }),
            (
                "first",
                {
                    $0.number = 20; $0.first = true
                }
            ),
            ("since", { $0.since = times[400] }),
            (
                "until",
                {
                    $0.until = times[450]; $0.number = 50
                }
            ),
            (
                "since until first",
                {
                    $0.since = times[300]; $0.until = times[600]; $0.first = true; $0.number = 30
                }
            ),
            (
                "whitelist",
                {
                    $0.whitelist = [dropped, dns]; $0.number = 40
                }
            ),
            ("blacklist", { $0.blacklist = [dropped] }),
            (
                "both",
                {
                    $0.whitelist = [backendGET]; $0.blacklist = [dropped]; $0.first = true
                }
            ),
            (
                "follow number",
                {
                    $0.follow = true; $0.number = 3
                }
            ),
        ]
        for (name, build) in requests {
            var request = GetFlowsRequest()
            build(&request)
            let query = try FlowQuery(request)
            let fromRecords = query.initialFlows(rawHistory)
            XCTAssertEqual(fromRecords, query.initialFlows(decodedHistory), name)
            XCTAssertEqual(
                fromRecords.map { query.framed($0) }, query.initialFlows(decodedHistory).map { query.framed($0) }, name)
            if name != "follow number" && name != "all" { XCTAssertFalse(fromRecords.isEmpty, name) }
        }
    }

    /// Records with lengths in, at and past their arrays' sizes, stale bytes past them, and kinds
    /// with no L7 part: the used bytes copied into a slot full of other bytes decode as the whole
    /// record does, and a keep-alive GET's records copy a fraction of the 1 KiB.
    func testTheUsedBytesDecodeAsTheWholeRecord() {
        var records = RecordSamples.make(count: 3_000, seed: 11)
        let http = records.first { $0.flow_type == 2 && $0.l7_proto == 2 }!
        let dns = records.first { $0.flow_type == 2 && $0.l7_proto == 4 && $0.l7_type == 2 }!
        func edited(_ rec: sluice_flow, _ edit: (inout sluice_flow) -> Void) -> sluice_flow {
            var r = rec
            edit(&r)
            return r
        }
        // Every byte of the L7 part set, so a cut in the wrong place shows.
        func filled(_ rec: sluice_flow) -> sluice_flow {
            edited(rec) { r in
                withUnsafeMutableBytes(of: &r.l7) { l7 in
                    for i in 0..<l7.count { l7[i] = UInt8(truncatingIfNeeded: i &* 7 &+ 0x41) }
                }
            }
        }
        var headers = [UInt8]()
        for i in 0..<20 {
            let name = Array("x-h\(i)".utf8), value = Array(String(repeating: "v", count: i).utf8)
            headers += [UInt8(name.count), UInt8(value.count), 0] + name + value
        }
        for urlLength in [0, 1, 200, 383, 384, 385, 60_000] {
            for headersLength in [0, headers.count, 507, 508, 509, 9_999] {
                records.append(
                    edited(filled(http)) { r in
                        r.l7.http.url_len = UInt16(urlLength)
                        r.l7.http.headers_len = UInt16(headersLength)
                        r.l7.http.method_len = UInt8(urlLength % 40)
                        withUnsafeMutableBytes(of: &r.l7.http.headers) { $0.copyBytes(from: headers) }
                    })
            }
        }
        for queryLength in [0, 5, 255, 256, 257, 999] {
            for ips in [0, 1, 8, 9, 255] {
                records.append(
                    edited(filled(dns)) { r in
                        r.l7.dns.query_len = UInt16(queryLength)
                        r.l7.dns.n_ips = UInt8(ips)
                    })
            }
        }
        for proto in [0, 6, 200] { records.append(edited(filled(http)) { $0.l7_proto = UInt8(proto) }) }
        for type in [0, 1, 3] { records.append(edited(filled(http)) { $0.flow_type = UInt8(type) }) }
        var slot = sluice_flow()
        for (i, rec) in records.enumerated() {
            let whole = Flow.decode(rec, directory: RecordSamples.directory, monotonicToWallOffsetNs: 5)
            for stale: UInt8 in [0x00, 0xa5] {
                withUnsafeMutableBytes(of: &slot) { $0.initializeMemory(as: UInt8.self, repeating: stale) }
                let copied = withUnsafePointer(to: rec) { source in
                    withUnsafeMutablePointer(to: &slot) { FlowRecordBytes.copyUsed(from: source, to: $0) }
                }
                XCTAssertLessThanOrEqual(copied, MemoryLayout<sluice_flow>.size)
                XCTAssertEqual(
                    Flow.decode(slot, directory: RecordSamples.directory, monotonicToWallOffsetNs: 5), whole,
                    "record \(i), stale byte \(stale)")
                // The lines `FlowHistory` streams to a slot hold every used byte.
                withUnsafeMutableBytes(of: &slot) { $0.initializeMemory(as: UInt8.self, repeating: stale) }
                let lines = withUnsafePointer(to: rec) { FlowRecordBytes.usedLines($0) }
                XCTAssertTrue(lines.head >= 2 && lines.head <= 16, "record \(i): \(lines)")
                XCTAssertTrue(lines.tail == 0 || (lines.tailStart >= lines.head && lines.tailStart + lines.tail <= 16))
                withUnsafeBytes(of: rec) { source in
                    withUnsafeMutableBytes(of: &slot) { slot in
                        for line in Array(0..<lines.head) + Array(lines.tailStart..<lines.tailStart + lines.tail) {
                            for b in line * 64..<line * 64 + 64 { slot[b] = source[b] }
                        }
                    }
                }
                XCTAssertEqual(
                    Flow.decode(slot, directory: RecordSamples.directory, monotonicToWallOffsetNs: 5), whole,
                    "record \(i), stale byte \(stale), lines \(lines)")
            }
        }
        // What a keep-alive GET's records copy.
        let get = records.first { $0.flow_type == 2 && $0.l7_proto == 2 && $0.l7.http.headers_len == 0 }!
        let l3l4 = records.first { $0.flow_type == 1 }!
        withUnsafePointer(to: get) { source in
            withUnsafeMutablePointer(to: &slot) {
                XCTAssertEqual(FlowRecordBytes.copyUsed(from: source, to: $0), 96 + 36 + Int(get.l7.http.url_len))
            }
        }
        withUnsafePointer(to: l3l4) { source in
            withUnsafeMutablePointer(to: &slot) { XCTAssertEqual(FlowRecordBytes.copyUsed(from: source, to: $0), 96) }
        }
    }

    /// The offsets `FlowRecordBytes` and `Observer` use as constants are the C layout's.
    func testTheRecordOffsetsAreTheLayouts() {
        typealias F = sluice_flow
        typealias H = sluice_flow_http
        typealias D = sluice_flow_dns
        XCTAssertEqual(FlowRecordBytes.l7, MemoryLayout<F>.offset(of: \F.l7))
        XCTAssertEqual(FlowRecordBytes.flowType, MemoryLayout<F>.offset(of: \F.flow_type))
        XCTAssertEqual(FlowRecordBytes.l7Proto, MemoryLayout<F>.offset(of: \F.l7_proto))
        XCTAssertEqual(FlowRecordBytes.httpURL, MemoryLayout<H>.offset(of: \H.url))
        XCTAssertEqual(FlowRecordBytes.httpURLLength, MemoryLayout<H>.offset(of: \H.url_len))
        XCTAssertEqual(FlowRecordBytes.httpPolicyID, MemoryLayout<H>.offset(of: \H.policy_id))
        XCTAssertEqual(FlowRecordBytes.httpHeaders, MemoryLayout<H>.offset(of: \H.headers))
        XCTAssertEqual(FlowRecordBytes.httpHeadersLength, MemoryLayout<H>.offset(of: \H.headers_len))
        XCTAssertEqual(FlowRecordBytes.dnsQuery, MemoryLayout<D>.offset(of: \D.query))
        XCTAssertEqual(FlowRecordBytes.dnsQueryLength, MemoryLayout<D>.offset(of: \D.query_len))
        XCTAssertEqual(FlowRecordBytes.dnsIPCount, MemoryLayout<D>.offset(of: \D.n_ips))
        XCTAssertEqual(FlowRecordBytes.dnsIPs, MemoryLayout<D>.offset(of: \D.ips))
        XCTAssertEqual(FlowRecordBytes.dnsPolicyID, MemoryLayout<D>.offset(of: \D.policy_id))
        XCTAssertEqual(408, MemoryLayout<D>.size)
        XCTAssertEqual(Observer.sourceIPOffset, MemoryLayout<F>.offset(of: \F.src_ip))
        XCTAssertEqual(Observer.destinationIPOffset, MemoryLayout<F>.offset(of: \F.dst_ip))
    }
}
