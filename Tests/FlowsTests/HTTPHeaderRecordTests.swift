import CSluiceShared
import XCTest

@testable import Flows

/// Request headers in HTTP request records (HTTPHeaderRecord): packed at record time with
/// Hubble's redaction applied (Cilium's filterHeader), decoded as Hubble shows them (Go's
/// canonical keys, sorted by key), printed in `l7.http.headers` after Sluice's pseudo-headers.
final class HTTPHeaderRecordTests: XCTestCase {
    private let f = FlowFixtures.self

    /// Packs `headers` (name, value) with `redaction`; returns the packer's facts and its bytes.
    private func pack(
        _ headers: [(String, String)], _ redaction: FlowRedaction = FlowRedaction()
    ) -> (count: Int, cut: Bool, bytes: [UInt8]) {
        let base = UnsafeMutableRawPointer.allocate(byteCount: HTTPHeaderRecord.capacity, alignment: 8)
        defer { base.deallocate() }
        var packer = HTTPHeaderRecord.Packer(base: base)
        for (name, value) in headers {
            var n = name, v = value
            let more = n.withUTF8 { nb in
                v.withUTF8 { vb in
                    packer.append(
                        name: UnsafeRawBufferPointer(nb), value: UnsafeRawBufferPointer(vb), redaction: redaction)
                }
            }
            if !more { break }
        }
        return (packer.count, packer.cut, Array(packer.bytes))
    }

    private func decoded(_ bytes: [UInt8]) -> [String] {
        bytes.withUnsafeBytes { HTTPHeaderRecord.decode($0) }.map { "\($0.key)=\($0.value)" }
    }

    func testCanonicalKeysSortedValuesInArrivalOrderHostAndPseudoHeadersLeftOut() {
        let p = pack([
            ("user-agent", "curl/8.0"), ("Host", "server"), (":path", "/x"), ("x-b", "2"), ("accept", "*/*"),
            ("x-b", "1"), ("X-REQUEST-ID", "4c1e"), ("bad key", "v"),
        ])
        XCTAssertEqual(p.count, 6)
        XCTAssertFalse(p.cut)
        XCTAssertEqual(
            decoded(p.bytes),
            ["Accept=*/*", "User-Agent=curl/8.0", "X-B=2", "X-B=1", "X-Request-Id=4c1e", "bad key=v"])
    }

    func testRedactionAsCiliumsFilterHeader() {
        var r = FlowRedaction()
        let headers = [("Authorization", "Bearer s3cret"), ("Accept", "*/*"), ("Cookie", "a=b")]
        XCTAssertEqual(
            decoded(pack(headers, r).bytes), ["Accept=*/*", "Authorization=Bearer s3cret", "Cookie=a=b"],
            "redaction off: values kept")
        r.enabled = true
        XCTAssertEqual(
            decoded(pack(headers, r).bytes),
            ["Accept=HUBBLE_REDACTED", "Authorization=HUBBLE_REDACTED", "Cookie=HUBBLE_REDACTED"],
            "enabled with no list: every value redacted")
        r.headersDeny = ["authorization", "cookie"]
        XCTAssertEqual(
            decoded(pack(headers, r).bytes),
            ["Accept=*/*", "Authorization=HUBBLE_REDACTED", "Cookie=HUBBLE_REDACTED"], "deny list")
        r.headersDeny = []
        r.headersAllow = ["accept"]
        XCTAssertEqual(
            decoded(pack(headers, r).bytes),
            ["Accept=*/*", "Authorization=HUBBLE_REDACTED", "Cookie=HUBBLE_REDACTED"], "allow list")
    }

    func testRecordIsBoundedAndSaysWhenCut() {
        let big = String(repeating: "v", count: 200)
        let p = pack([("a", big), ("b", big), ("c", big), ("d", "small")])
        XCTAssertEqual(p.count, 2, "two 204-byte entries fit in \(HTTPHeaderRecord.capacity) bytes, the third not")
        XCTAssertTrue(p.cut)
        XCTAssertLessThanOrEqual(p.bytes.count, HTTPHeaderRecord.capacity)
        XCTAssertEqual(decoded(p.bytes).count, 2, "nothing after the header that did not fit")
        XCTAssertEqual(HTTPHeaderRecord.capacity, Int(SLUICE_HTTP_HEADERS_MAX))
        XCTAssertEqual(MemoryLayout<sluice_flow>.size, Int(SLUICE_FLOW_RECORD_SIZE))
    }

    func testMalformedBytesEndTheList() {
        XCTAssertEqual(decoded([3, 1, 0, 0x61, 0x62, 0x63, 0x64, 9, 200, 0, 0x78]), ["Abc=d"])
        XCTAssertEqual(decoded([0, 0, 0]), [], "an empty name is malformed")
        XCTAssertEqual(decoded([5]), [])
    }

    /// Golden: the JSON of a request record written with headers (redaction on, deny list):
    /// Sluice's pseudo-headers first (`:` sorts before letters), then the request's, sorted.
    func testGoldenJSONOfARequestRecordWithHeaders() {
        var r = FlowRedaction()
        r.enabled = true
        r.urlQuery = true
        r.headersDeny = ["authorization"]
        let saved = FlowRedaction.current
        FlowRedaction.current = r
        defer { FlowRedaction.current = saved }
        let base = UnsafeMutableRawPointer.allocate(byteCount: HTTPHeaderRecord.capacity, alignment: 8)
        defer { base.deallocate() }
        var packer = HTTPHeaderRecord.Packer(base: base)
        for (name, value) in [("user-agent", "curl/8.0"), ("authorization", "Bearer s3cret"), ("accept", "*/*")] {
            var n = name, v = value
            n.withUTF8 { nb in
                v.withUTF8 { vb in
                    _ = packer.append(name: UnsafeRawBufferPointer(nb), value: UnsafeRawBufferPointer(vb), redaction: r)
                }
            }
        }
        let common = f.common(.forwarded, from: f.client, 43210, to: f.server, 80, time: f.monotonicBase + 5)
        let (rec, flow) = f.record { p in
            var m = "GET", a = "server.default", path = "/get?token=s3cret"
            m.withUTF8 { mb in
                a.withUTF8 { ab in
                    path.withUTF8 { pb in
                        FlowRecordWriter.writeHTTP(
                            p, common: common, l7Type: .request, method: UnsafeRawBufferPointer(mb), scheme: "http",
                            authority: UnsafeRawBufferPointer(ab), path: UnsafeRawBufferPointer(pb), code: 0,
                            latencyNs: 0, proto: .http11, verdict: Flow.L7Verdict(reason: .ruleMatched),
                            headers: packer)
                    }
                }
            }
        }
        XCTAssertEqual(rec.l7.http.n_headers, 3)
        XCTAssertEqual(rec.l7.http.headers_cut, 0)
        let json = FlowPrinter.json(flow)
        let golden =
            #""l7":{"type":"REQUEST","http":{"method":"GET","url":"http://server.default/get","protocol":"HTTP/1.1","headers":[{"key":":sluice-reason","value":"rule-matched"},{"key":"Accept","value":"*/*"},{"key":"Authorization","value":"HUBBLE_REDACTED"},{"key":"User-Agent","value":"curl/8.0"}]}}"#
        XCTAssertTrue(json.contains(golden), "\n got: \(json)\nwant: …\(golden)…")
        XCTAssertFalse(json.contains("s3cret"))
        // The JSON reads back (observe --input-file) with the same headers and verdict detail.
        let back = try? Flow.fromJSON(json)
        guard case .http(let http)? = back?.l7?.record else { return XCTFail("no HTTP flow read back: \(json)") }
        XCTAssertEqual(http.headers.map(\.key), ["Accept", "Authorization", "User-Agent"])
        XCTAssertEqual(back?.l7Verdict?.reason, .ruleMatched)
    }

    func testResponsesAndRecordsWithoutHeadersHaveNone() {
        let common = f.common(.forwarded, from: f.server, 80, to: f.client, 43210, time: f.monotonicBase)
        let flow = f.http(common, .response, method: "GET", path: "/", code: 200)
        guard case .http(let http)? = flow.l7?.record else { return XCTFail("no HTTP record") }
        XCTAssertEqual(http.headers, [])
    }
}
