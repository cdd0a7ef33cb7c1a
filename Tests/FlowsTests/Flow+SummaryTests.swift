import XCTest

@testable import Flows

final class FlowSummaryTests: XCTestCase {
    private func l7(_ type: Flow.L7FlowType, _ record: Flow.Layer7.Record, latency: UInt64 = 0) -> Flow {
        Flow(type: .l7, l7: Flow.Layer7(type: type, latencyNs: latency, record: record))
    }

    func testHTTP() {
        let get = Flow.HTTP(method: "GET", url: "http://a/b", protocol: "HTTP/1.1")
        XCTAssertEqual(l7(.request, .http(get)).summary, "HTTP/1.1 GET http://a/b")
        var ok = get
        ok.code = 200
        XCTAssertEqual(l7(.response, .http(ok), latency: 1_999_999).summary, "HTTP/1.1 200 1ms (GET http://a/b)")
    }

    func testTLS() {
        var tls = Flow.HTTP(method: "", url: "https://api.example.com", protocol: "TLS")
        XCTAssertEqual(l7(.request, .http(tls)).summary, "TLS https://api.example.com")
        tls.url = "https://"
        tls.connectionError = Flow.ConnectionError(side: .downstream, errno: 0)
        XCTAssertEqual(l7(.request, .http(tls)).summary, "TLS https:// downstream EOF")
    }

    func testDNS() {
        let q = Flow.DNS(query: "cilium.io.", qtypes: ["A", "AAAA"])
        XCTAssertEqual(l7(.request, .dns(q)).summary, "DNS Query cilium.io. A,AAAA")
        var answer = q
        answer.ips = ["1.1.1.1", "2.2.2.2"]
        answer.cnames = ["x.cilium.io."]
        answer.ttl = 30
        XCTAssertEqual(
            l7(.response, .dns(answer)).summary,
            "DNS Answer \"1.1.1.1,2.2.2.2\" CNAMEs: \"x.cilium.io.\" TTL: 30 (Proxy cilium.io. A,AAAA)")
        var refused = q
        refused.rcode = 5
        XCTAssertEqual(
            l7(.response, .dns(refused)).summary, "DNS Answer RCode: REFUSED TTL: 0 (Proxy cilium.io. A,AAAA)")
        var empty = q
        empty.observationSource = ""
        XCTAssertEqual(l7(.response, .dns(empty)).summary, "DNS Answer \"\" TTL: 0 (Query cilium.io. A,AAAA)")
    }

    func testL3L4() {
        let tcp = Flow(l4: .tcp(Flow.TCP(sourcePort: 1, destinationPort: 2, flags: [.fin, .psh, .ack, .syn, .rst])))
        XCTAssertEqual(tcp.summary, "TCP Flags: SYN, ACK, RST, FIN, PSH")
        XCTAssertEqual(Flow(l4: .udp(Flow.UDP(sourcePort: 1, destinationPort: 2))).summary, "UDP")
        XCTAssertEqual(Flow(l4: .tcp(Flow.TCP(sourcePort: 1, destinationPort: 2))).summary, "TCP Flags: ")
    }
}
