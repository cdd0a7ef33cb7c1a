import CSluiceShared
import Flows
import Glibc

/// The proxy's cost of an HTTP request flow record: `FlowRecordWriter.writeHTTP` over a slot that
/// still holds an older record, as `FlowRing.appendWritten` hands it over (the proxy's path), and
/// for comparison after zeroing the slot first as `FlowRing.append` does; with and without the
/// request's headers packed (and redacted) by `HTTPHeaderRecord.Packer` as
/// `HTTPFlowRecorder.beginRequest` packs them.
enum FlowRecordBenchmark {
    static let slots = 4096

    static func run() throws {
        let stride = MemoryLayout<sluice_flow>.stride
        let ring = UnsafeMutableRawPointer.allocate(byteCount: stride * slots, alignment: 64)
        defer { ring.deallocate() }
        ring.initializeMemory(as: UInt8.self, repeating: 0, count: stride * slots)
        let headerBytes = UnsafeMutableRawPointer.allocate(byteCount: HTTPHeaderRecord.capacity, alignment: 8)
        defer { headerBytes.deallocate() }
        let curl: [(String, String)] = [
            ("Host", "backend.backend.svc.cluster.local"), ("User-Agent", "curl/7.88.1"), ("Accept", "*/*"),
        ]
        let browser: [(String, String)] =
            curl + [
                ("Accept-Language", "en-US,en;q=0.9"), ("Accept-Encoding", "gzip, deflate, br"),
                ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc"),
                ("Cookie", "session=0123456789abcdef; theme=dark"),
                ("X-Request-Id", "4c1e2f1a-77a9-4c5e-9a4a-1f2b3c4d5e6f"),
            ]
        var redaction = FlowRedaction()
        redaction.enabled = true
        redaction.headersDeny = ["authorization", "cookie"]
        let common = FlowCommon(
            timeNs: 1, verdict: .forwarded, direction: .ingress, srcIP: 0x0a00_0001, dstIP: 0x0a00_0002, srcPort: 40000,
            dstPort: 80, l4Proto: FlowCommon.tcp, srcIdentity: 1000, dstIdentity: 1001, srcEndpoint: 1, dstEndpoint: 2)
        let method: StaticString = "GET", authority: StaticString = "backend.backend.svc.cluster.local"
        let path: StaticString = "/anything/some/path?x=1"
        func raw(_ s: StaticString) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
        }
        // Header names and values as the request view hands them over: bytes in one buffer.
        func arena(_ headers: [(String, String)]) -> [([UInt8], [UInt8])] {
            headers.map { (Array($0.0.utf8), Array($0.1.utf8)) }
        }
        let sets: [(String, [([UInt8], [UInt8])]?)] = [
            ("no headers", nil), ("curl (3 headers)", arena(curl)), ("browser (8 headers, 2 denied)", arena(browser)),
        ]
        let n = 400_000
        for (name, headers) in sets {
            for zeroed in [true, false] {
                var packer = HTTPHeaderRecord.Packer(base: headerBytes)
                var checksum = 0
                let ns = timed {
                    for i in 0..<n {
                        let slot = ring + (i % slots) * stride
                        if zeroed { (slot + 8).initializeMemory(as: UInt8.self, repeating: 0, count: stride - 8) }
                        let rec = slot.assumingMemoryBound(to: sluice_flow.self)
                        if let headers {
                            packer.reset()
                            for (k, v) in headers {
                                k.withUnsafeBytes { kb in
                                    v.withUnsafeBytes { vb in
                                        _ = packer.append(name: kb, value: vb, redaction: redaction)
                                    }
                                }
                            }
                        }
                        FlowRecordWriter.writeHTTP(
                            rec, common: common, l7Type: .request, method: raw(method), scheme: "http",
                            authority: raw(authority), path: raw(path), code: 0, latencyNs: 0, proto: .http11,
                            headers: headers == nil ? nil : packer)
                        checksum &+= Int(rec.pointee.l7.http.headers_len)
                    }
                }
                if let headers {
                    check(checksum > 0 && packer.count == headers.count - 1, "\(name): headers not packed")
                }
                let how = zeroed ? "slot zeroed, then written" : "written in place"
                print(
                    "flow record, HTTP request, \(name), \(how): \(Int(ns / Double(n))) ns/record (record \(stride) bytes)"
                )
            }
        }
    }
}
