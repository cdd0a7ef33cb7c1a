import CSluiceShared
import Flows
import SluiceModel
import SluiceTestSupport
import XCTest

@testable import HubbleProto

final class FlowRecordProtoTests: XCTestCase {
    static let seed = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/1/1"
    static let wallOffsetNs: Int64 = 1_700_000_000_000_000_000

    /// The old path: the observer's decode (uuid, emitter, node name) and the `Flow` encoder.
    static func decoded(_ rec: sluice_flow, seq: UInt64, directory: EndpointDirectory, nodeName: String) -> Flow {
        var flow = Flow.decode(rec, directory: directory, monotonicToWallOffsetNs: wallOffsetNs)
        flow.uuid = FlowUUID.make(seed: seed, seq: seq)
        flow.emitter = .sluice
        flow.nodeName = nodeName
        return flow
    }

    /// A directory that also names policies and DNS names, so the policy and names fields are filled.
    static let directory: EndpointDirectory = {
        var file = EndpointDirectory.File(
            nodeName: "sluice-node",
            endpoints: [
                .init(
                    id: 11, namespace: "frontend", pod: "client-7d4b9c", ipv4: "10.244.1.10", identity: 1000,
                    labels: ["k8s:io.kubernetes.pod.namespace=frontend", "k8s:app=client"]),
                .init(
                    id: 12, namespace: "backend", pod: "server-5f6a8b", ipv4: "10.244.2.20", identity: 1001,
                    labels: ["k8s:app=server", "k8s:io.kubernetes.pod.namespace=backend"]),
            ],
            identities: [.init(identity: 102, labels: ["k8s:k8s-app=kube-dns"])])
        file.policies = [
            .init(ref: 1, kind: "CiliumNetworkPolicy", namespace: "backend", name: "allow-get"),
            .init(ref: 2, kind: "CiliumClusterwideNetworkPolicy", namespace: "", name: "deny-all"),
        ]
        return EndpointDirectory(file: file).withNames([RecordSamples.ip("93.184.216.34"): ["example.com"]])
    }()

    /// Records of every kind with stale bytes past each text field and policy references: the
    /// covered ones encode to the old path's bytes, byte for byte, with and without a field mask;
    /// DNS records (not covered) are declined.
    func testEveryCoveredRecordEncodesToTheDecodedFlowsBytes() throws {
        var records = RecordSamples.make(count: 4_000, seed: 29)
        for i in records.indices {
            // Stale bytes of a longer earlier record past the used lengths, and policy numbers
            // (known, unknown) on requests, verdicts and drops.
            withUnsafeMutableBytes(of: &records[i].l7.http.url) { $0[$0.count - 1] = UInt8(ascii: "Z") }
            withUnsafeMutableBytes(of: &records[i].l7.http.method) { $0[$0.count - 1] = UInt8(ascii: "Q") }
            let ref = UInt32(i % 4)
            if records[i].flow_type == Flow.FlowType.l7.rawValue {
                if records[i].l7_proto != Flow.L7Protocol.dns.rawValue { records[i].l7.http.policy_id = ref }
                if i % 5 == 0 { records[i].l7.http.error_side = UInt8(i % 3) }
                if i % 7 == 0 { records[i].l7.http.reason = UInt8(i % 10) }
                if i % 11 == 0 { records[i].l7.http.header_actions = UInt8(i % 4) }
            } else {
                records[i].policy_ref = ref
            }
        }
        for (directory, nodeName) in [(Self.directory, "sluice-node"), (RecordSamples.directory, "node-b")] {
            let encoder = FlowRecordProto(directory: directory, seed: Self.seed, nodeName: nodeName)
            let mask = try FlowProtoMask(paths: ["uuid", "l7.http", "source.labels", "Summary", "time"])
            var kinds = Set<String>()
            for (seq, rec) in records.enumerated() {
                let flow = Self.decoded(rec, seq: UInt64(seq), directory: directory, nodeName: nodeName)
                let framed = withUnsafePointer(to: rec) {
                    encoder.framed($0, seq: UInt64(seq), wallOffsetNs: Self.wallOffsetNs)
                }
                let masked = withUnsafePointer(to: rec) {
                    encoder.framed($0, seq: UInt64(seq), wallOffsetNs: Self.wallOffsetNs, mask: mask)
                }
                let isDNS = rec.flow_type == Flow.FlowType.l7.rawValue && rec.l7_proto == Flow.L7Protocol.dns.rawValue
                if isDNS {
                    XCTAssertNil(framed)
                    XCTAssertNil(masked)
                    continue
                }
                kinds.insert("\(rec.flow_type)/\(rec.event_type)/\(rec.l4_proto)/\(rec.l7_type)/\(rec.l7_proto)")
                XCTAssertEqual(framed, GetFlowsResponse.framedFlow(flow), "record \(seq): \(flow)")
                XCTAssertEqual(masked, GetFlowsResponse.framedFlow(flow, mask: mask), "record \(seq)")
            }
            XCTAssertGreaterThan(kinds.count, 25)
            XCTAssertGreaterThan(encoder.declined, 0)
            XCTAssertEqual(encoder.encoded + encoder.declined, 2 * records.count)
        }
    }

    /// Non-ASCII method or url bytes are left to the decoded path (its text repairs bad UTF-8).
    func testNonASCIITextIsDeclined() {
        var rec = RecordSamples.make(count: 40, seed: 5).first {
            $0.flow_type == Flow.FlowType.l7.rawValue && $0.l7_proto != Flow.L7Protocol.dns.rawValue
        }!
        XCTAssertTrue(FlowRecordProto.covers(&rec))
        withUnsafeMutableBytes(of: &rec.l7.http.url) { $0[0] = 0xC3 }
        XCTAssertFalse(FlowRecordProto.covers(&rec))
        let encoder = FlowRecordProto(directory: Self.directory, seed: Self.seed, nodeName: "n")
        XCTAssertNil(encoder.framed(&rec, seq: 1, wallOffsetNs: 0))
        XCTAssertEqual(encoder.declined, 1)
    }

    func testRecordOffsetsAreTheFieldsOffsets() {
        typealias F = sluice_flow
        XCTAssertEqual(FlowRecordProto.srcIPOffset, MemoryLayout<F>.offset(of: \F.src_ip))
        XCTAssertEqual(FlowRecordProto.dstIPOffset, MemoryLayout<F>.offset(of: \F.dst_ip))
        let http = MemoryLayout<F>.offset(of: \F.l7)!
        XCTAssertEqual(FlowRecordProto.methodOffset, http + MemoryLayout<sluice_flow_http>.offset(of: \.method)!)
        XCTAssertEqual(FlowRecordProto.urlOffset, http + MemoryLayout<sluice_flow_http>.offset(of: \.url)!)
    }

    func testStaticProtocolNamesAreTheFlowsNames() {
        var checked = 0
        for raw in UInt8.min...UInt8.max {
            guard let proto = Flow.L7Protocol(rawValue: raw) else { continue }
            XCTAssertEqual(Array(FlowRecordProto.protocolName(proto)), Array(proto.httpProtocolName.utf8))
            checked += 1
        }
        XCTAssertEqual(checked, 6)
    }

    func testDecimalDigits() {
        for value: UInt64 in [0, 1, 9, 10, 99, 100, 200, 1234, 999_999, 1_000_000, .max] {
            var w = ProtoWriter()
            w.decimal(value)
            XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), String(value))
        }
    }
}
