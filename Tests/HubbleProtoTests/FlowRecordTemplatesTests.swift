import CSluiceShared
import Flows
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import HubbleProto

final class FlowRecordTemplatesTests: XCTestCase {
    /// A seeded generator (the same seed, the same records).
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ state >> 31
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
    }

    static func isHTTP(_ rec: sluice_flow) -> Bool { withUnsafePointer(to: rec) { FlowRecordTemplates.isHTTP($0) } }

    /// Packs `headers` into `rec`'s request headers (`HTTPHeaderRecord`'s layout).
    static func setHeaders(_ rec: inout sluice_flow, _ headers: [(String, String)]) {
        var bytes: [UInt8] = []
        for (name, value) in headers {
            bytes += [UInt8(name.utf8.count), UInt8(value.utf8.count & 0xFF), UInt8(value.utf8.count >> 8)]
            bytes += Array(name.utf8) + Array(value.utf8)
        }
        withUnsafeMutableBytes(of: &rec.l7.http.headers) { $0.copyBytes(from: bytes.prefix($0.count)) }
        rec.l7.http.headers_len = UInt16(min(bytes.count, Int(SLUICE_HTTP_HEADERS_MAX)))
        rec.l7.http.n_headers = UInt8(headers.count)
    }

    /// Record kinds that repeat with their keys (every kind of `RecordSamples`, HTTP with headers,
    /// connection errors, reasons and policies), then near copies that differ in one key byte.
    static func keys(_ random: inout Random) -> [sluice_flow] {
        var keys = RecordSamples.make(count: 240, seed: 41)
        for i in keys.indices where keys[i].flow_type == Flow.FlowType.l7.rawValue {
            guard keys[i].l7_proto != Flow.L7Protocol.dns.rawValue else { continue }
            keys[i].l7.http.policy_id = UInt32(random.below(4))
            if random.below(3) == 0 { keys[i].l7.http.error_side = UInt8(random.below(3)) }
            if random.below(3) == 0 { keys[i].l7.http.error_errno = UInt16(random.pick([0, 32, 104])) }
            if random.below(3) == 0 { keys[i].l7.http.reason = UInt8(random.below(10)) }
            if random.below(4) == 0 { keys[i].l7.http.header_actions = UInt8(random.below(16)) }
            if keys[i].l7_type == Flow.L7FlowType.request.rawValue, random.below(2) == 0 {
                let value = String(repeating: "v", count: random.pick([0, 1, 40, 130, 300]))
                setHeaders(&keys[i], [("user-agent", "wrk"), ("x-request-id", value), ("accept", "*/*")])
            }
        }
        for i in keys.indices where keys[i].flow_type != Flow.FlowType.l7.rawValue {
            keys[i].policy_ref = UInt32(random.below(4))
        }
        // Near copies: the same hash words, another byte in the middle of the url or a header value.
        var near: [sluice_flow] = []
        for rec in keys where Self.isHTTP(rec) {
            var copy = rec
            let urlCount = Int(copy.l7.http.url_len)
            if urlCount > 16 {
                withUnsafeMutableBytes(of: &copy.l7.http.url) { $0[urlCount / 2] ^= 0x01 }
                near.append(copy)
            }
            copy = rec
            let headersCount = Int(copy.l7.http.headers_len)
            if headersCount > 40 {
                withUnsafeMutableBytes(of: &copy.l7.http.headers) { $0[headersCount / 2] ^= 0x02 }
                near.append(copy)
            }
        }
        XCTAssertGreaterThan(near.count, 20)
        return keys + near
    }

    /// The open fields at values that move the varints' lengths (and random ones).
    static func vary(_ rec: inout sluice_flow, _ random: inout Random) {
        let latencies: [UInt64] = [
            0, 1, 127, 128, 16_383, 16_384, 999_999, 1_000_000, 9_999_999, 127_000_000, 128_000_000, 2_097_152_000,
            1 << 35, 1 << 49, 1 << 56, 1 << 63,
        ]
        let ports: [UInt16] = [0, 1, 127, 128, 16_383, 16_384, 65_535]
        rec.latency_ns = random.below(2) == 0 ? random.pick(latencies) : random.next() >> random.below(64)
        rec.src_port = random.below(2) == 0 ? random.pick(ports) : UInt16(truncatingIfNeeded: random.next())
        rec.dst_port = random.below(2) == 0 ? random.pick(ports) : UInt16(truncatingIfNeeded: random.next())
        rec.time_ns = random.pick([0, 1, 999_999_999, 1_000_000_000]) &+ (random.next() >> random.below(64))
        // Stale bytes past the used lengths: not part of the key.
        let urlCount = Int(rec.l7.http.url_len)
        if rec.flow_type == Flow.FlowType.l7.rawValue, urlCount < Int(SLUICE_HTTP_URL_MAX) {
            withUnsafeMutableBytes(of: &rec.l7.http.url) { $0[urlCount] = UInt8(truncatingIfNeeded: random.next()) }
        }
    }

    /// The template path against the whole encoding (`usesTemplates: false`), on 40,000 records of
    /// ~380 keys in random order (templates made, reused, replaced), each record's time, ports,
    /// latency and sequence number drawn anew: byte for byte equal. A sample is also held to the
    /// decoded flow's bytes.
    func testTemplatesEncodeEveryRecordAsTheWholeEncoding() throws {
        var random = Random(state: 7)
        let keys = Self.keys(&random)
        for (directory, nodeName) in [(FlowRecordProtoTests.directory, "sluice-node"), (RecordSamples.directory, "b")] {
            let seed = FlowRecordProtoTests.seed
            let templated = FlowRecordProto(directory: directory, seed: seed, nodeName: nodeName)
            let whole = FlowRecordProto(directory: directory, seed: seed, nodeName: nodeName, usesTemplates: false)
            var compared = 0
            for n in 0..<40_000 {
                // Mostly a few hot keys (as get-ka's), the rest spread over all of them.
                var rec = keys[random.below(4) == 0 ? random.below(keys.count) : random.below(12)]
                Self.vary(&rec, &random)
                let seq = random.next() >> random.below(64)
                let offset = random.pick([0, FlowRecordProtoTests.wallOffsetNs, -1_000_000_000])
                let expected = withUnsafePointer(to: rec) { whole.framed($0, seq: seq, wallOffsetNs: offset) }
                let got = withUnsafePointer(to: rec) { templated.framed($0, seq: seq, wallOffsetNs: offset) }
                guard got == expected else {
                    XCTFail(
                        "record \(n): \(String(describing: got)) from the template, \(String(describing: expected)) whole"
                    )
                    return
                }
                compared += 1
                if n % 97 == 0, got != nil, offset == FlowRecordProtoTests.wallOffsetNs, rec.latency_ns < 1 << 40,
                    rec.time_ns < 1 << 60
                {
                    let flow = FlowRecordProtoTests.decoded(rec, seq: seq, directory: directory, nodeName: nodeName)
                    XCTAssertEqual(got, GetFlowsResponse.framedFlow(flow), "record \(n)")
                }
            }
            XCTAssertEqual(compared, 40_000)
            XCTAssertEqual(whole.templated, 0)
            // Most records came from templates, and keys displaced each other in the 64 slots.
            XCTAssertGreaterThan(templated.templated, 15_000)
            XCTAssertGreaterThan(templated.templatesMade, 50)
        }
    }

    /// Records as get-ka's repeat them (the same second, nanoseconds of 9 digits, ephemeral ports,
    /// latencies of 2-268 ms): most responses are the template's last one with the open fields
    /// written over, and every one equals the whole encoding.
    func testResponsesWrittenOverTheLastOneAreTheWholeEncoding() {
        var random = Random(state: 11)
        let keys = Self.keys(&random)
        let directory = FlowRecordProtoTests.directory
        let seed = FlowRecordProtoTests.seed
        let templated = FlowRecordProto(directory: directory, seed: seed, nodeName: "sluice-node")
        let whole = FlowRecordProto(directory: directory, seed: seed, nodeName: "sluice-node", usesTemplates: false)
        for n in 0..<20_000 {
            var rec = keys[random.below(8) == 0 ? random.below(keys.count) : random.below(6)]
            rec.time_ns = 1_000_000_000 + UInt64(random.below(4)) * 300_000_000 + UInt64(random.below(300_000_000))
            rec.latency_ns = UInt64(2_097_152 + random.below(266_000_000))
            rec.src_port = UInt16(16_384 + random.below(49_000))
            rec.dst_port = random.below(8) == 0 ? UInt16(random.below(200)) : 80
            let seq = UInt64(n) << random.below(40)
            let offset = FlowRecordProtoTests.wallOffsetNs
            let expected = withUnsafePointer(to: rec) { whole.framed($0, seq: seq, wallOffsetNs: offset) }
            let got = withUnsafePointer(to: rec) { templated.framed($0, seq: seq, wallOffsetNs: offset) }
            guard got == expected else {
                XCTFail(
                    "record \(n): \(String(describing: got)) from the template, \(String(describing: expected)) whole")
                return
            }
        }
        XCTAssertGreaterThan(templated.rewritten, 8_000)
        XCTAssertLessThan(templated.rewritten, templated.templated)
    }

    /// A key seen once is encoded whole; the second time it makes a template, then uses it.
    func testATemplateIsMadeTheSecondTimeAKeyIsSeen() {
        var rec = RecordSamples.make(count: 40, seed: 5).first { Self.isHTTP($0) }!
        let encoder = FlowRecordProto(directory: FlowRecordProtoTests.directory, seed: "s", nodeName: "n")
        var random = Random(state: 3)
        for expected in [0, 1, 2, 3] {
            Self.vary(&rec, &random)
            _ = encoder.framed(&rec, seq: UInt64(expected), wallOffsetNs: 0)
            XCTAssertEqual(encoder.templated, expected)
            XCTAssertEqual(encoder.templatesMade, expected == 0 ? 0 : 1)
        }
        // Another url byte: another key.
        withUnsafeMutableBytes(of: &rec.l7.http.url) { $0[0] ^= 1 }
        _ = encoder.framed(&rec, seq: 9, wallOffsetNs: 0)
        XCTAssertEqual(encoder.templated, 3)
    }

    func testKeyOffsetsAreTheFieldsOffsets() {
        typealias F = sluice_flow
        typealias H = sluice_flow_http
        XCTAssertEqual(FlowRecordTemplates.peers.lowerBound, MemoryLayout<F>.offset(of: \F.src_identity))
        XCTAssertEqual(FlowRecordTemplates.peers.upperBound, MemoryLayout<F>.offset(of: \F.src_port))
        XCTAssertEqual(FlowRecordTemplates.fixed.lowerBound, MemoryLayout<F>.offset(of: \F.ip_version))
        XCTAssertEqual(FlowRecordTemplates.fixed.upperBound, MemoryLayout<F>.offset(of: \F.l7))
        XCTAssertEqual(FlowRecordTemplates.l7, MemoryLayout<F>.offset(of: \F.l7))
        XCTAssertEqual(FlowRecordTemplates.httpFixed.lowerBound, MemoryLayout<H>.offset(of: \H.code))
        XCTAssertEqual(FlowRecordTemplates.httpFixed.upperBound, MemoryLayout<H>.offset(of: \H.url))
        XCTAssertEqual(MemoryLayout<H>.offset(of: \H.method)! + Int(SLUICE_HTTP_METHOD_MAX), FlowRecordTemplates.url)
        XCTAssertEqual(FlowRecordTemplates.url, MemoryLayout<H>.offset(of: \H.url))
        XCTAssertEqual(FlowRecordTemplates.urlLength, MemoryLayout<H>.offset(of: \H.url_len))
        XCTAssertEqual(MemoryLayout<H>.offset(of: \H.url)! + Int(SLUICE_HTTP_URL_MAX), FlowRecordTemplates.headers)
        XCTAssertEqual(FlowRecordTemplates.headers, MemoryLayout<H>.offset(of: \H.headers))
        XCTAssertEqual(FlowRecordTemplates.headersLength, MemoryLayout<H>.offset(of: \H.headers_len))
        // The open fields are the bytes between: time, latency, ports.
        XCTAssertEqual(MemoryLayout<F>.offset(of: \F.latency_ns)! + 8, FlowRecordTemplates.peers.lowerBound)
        XCTAssertEqual(MemoryLayout<F>.offset(of: \F.dst_port)! + 2, FlowRecordTemplates.fixed.lowerBound)
    }

    func testVarintSizeAndDecimalCount() {
        for shift in 0..<64 {
            for value in [UInt64(1) << shift, (UInt64(1) << shift) - 1, (UInt64(1) << shift) + 1] {
                var w = ProtoWriter()
                w.varint(value)
                XCTAssertEqual(ProtoWriter.varintSize(value), w.count, "\(value)")
                XCTAssertEqual(ProtoWriter.decimalCount(value), String(value).count, "\(value)")
            }
        }
        XCTAssertEqual(ProtoWriter.varintSize(.max), 10)
        XCTAssertEqual(ProtoWriter.decimalCount(.max), 20)
    }
}
