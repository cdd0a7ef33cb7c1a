import Flows
import SluiceIO
import SluiceModel
import XCTest

@testable import DNS
@testable import Proxy

/// The DNS proxy's flow records, written into a collecting sink and decoded as `sluice observe`
/// does: the request with its question, the response from the server's side with its answers,
/// TTL, rcode, latency and failure, and the policy drop.
final class DNSFlowRecorderTests: XCTestCase {
    private let client = DNSEndpointAddress(address: 0x0700_000A, port: 40_000)
    private let server = DNSEndpointAddress(address: 0x0A00_000A, port: 53)

    private func query() -> DNSQuery {
        DNSQuery(
            client: client, server: server, proto: 17,
            steer: SteerInfo(endpointID: 7, sourceIdentity: 256, destinationIdentity: 300, direction: .egress),
            originalID: 1, qname: Array("api.example.com.".utf8), qtype: 1, requestTimeNs: 1_000,
            policyRef: 0)
    }

    private func summary(ips: [IPAddress], cnames: [String] = []) -> AnswerSummary {
        AnswerSummary(
            qname: "api.example.com.", qtypes: [.a], ips: ips, ttl: 60, cnames: cnames, rcode: .noError,
            rrtypes: [.a, .aaaa, .cname, .mx], hasOffChainRecords: false, hasNoQuestion: false)
    }

    func testTheRequestCarriesTheQuestion() throws {
        let sink = CollectingSink()
        DNSFlowRecorder(flows: sink).request(query(), verdict: .forwarded)
        let flow = try XCTUnwrap(sink.flows.first)
        XCTAssertEqual(sink.flows.count, 1)
        XCTAssertEqual(flow.verdict, .forwarded)
        XCTAssertEqual(flow.l7?.type, .request)
        XCTAssertEqual(flow.l7?.dns?.query, "api.example.com.")
        XCTAssertEqual(flow.l7?.dns?.qtypes, ["A"])
        XCTAssertEqual(flow.ip?.source, "10.0.0.7")
        XCTAssertEqual(flow.l4, .udp(.init(sourcePort: 40_000, destinationPort: 53)))
        XCTAssertEqual(flow.trafficDirection, .egress)
    }

    func testWhilePausedNothingIsWritten() throws {
        let sink = CollectingSink()
        let recording = FlowRecording(paused: true)
        let recorder = DNSFlowRecorder(flows: sink, recording: recording)
        recorder.request(query(), verdict: .forwarded)
        recorder.response(query(), summary: nil, rcode: .servFail, verdict: .error, now: 5_000)
        recorder.policyDrop(query())
        XCTAssertEqual(sink.flows.count, 0)
        recording.resume()
        recorder.request(query(), verdict: .forwarded)
        recorder.policyDrop(query())
        XCTAssertEqual(sink.flows.map(\.verdict), [.forwarded, .dropped])
    }

    func testTheResponseComesFromTheServerWithItsAnswers() throws {
        let sink = CollectingSink()
        let answers: [IPAddress] = [
            .v4(IPv4Address(192, 0, 2, 1)), .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: 1)),
        ]
        DNSFlowRecorder(flows: sink).response(
            query(), summary: summary(ips: answers), rcode: .noError, verdict: .forwarded, now: 5_000,
            failure: PeerClose(side: .upstream, errno: 111))
        let flow = try XCTUnwrap(sink.flows.first)
        XCTAssertEqual(flow.l7?.type, .response)
        XCTAssertEqual(flow.l7?.latencyNs, 4_000)
        XCTAssertEqual(flow.isReply, true)
        XCTAssertEqual(flow.ip?.source, "10.0.0.10", "the server is the source of a response")
        XCTAssertEqual(flow.l4, .udp(.init(sourcePort: 53, destinationPort: 40_000)))
        let dns = try XCTUnwrap(flow.l7?.dns)
        XCTAssertEqual(dns.ips, ["192.0.2.1", "2001:db8::1"])
        XCTAssertEqual(dns.ttl, 60)
        XCTAssertEqual(dns.rrtypes, ["A", "AAAA", "CNAME"], "other types are counted but not named")
        XCTAssertEqual(dns.connectionError?.side, .upstream)
        XCTAssertEqual(dns.connectionError?.errno, 111)
    }

    func testAnEmptyAnswerHasNoTTLAndAMissingOneNoAnswers() throws {
        let sink = CollectingSink()
        let recorder = DNSFlowRecorder(flows: sink)
        recorder.response(query(), summary: summary(ips: []), rcode: .nxDomain, verdict: .forwarded, now: 2_000)
        recorder.response(query(), summary: nil, rcode: .noError, verdict: .forwarded, now: 2_000)
        let flows = sink.flows
        XCTAssertEqual(flows.map { $0.l7?.dns?.ttl }, [0, 0])
        XCTAssertEqual(flows.map { $0.l7?.dns?.rcode }, [3, 0])
        XCTAssertEqual(flows[1].l7?.dns?.rrtypes, [])
        XCTAssertNil(flows[0].l7?.dns?.connectionError)
    }

    /// The response from the answer's figures (the relay path, `AnswerScan`) writes what the
    /// summary path writes for the same answer.
    func testTheResponseFromFiguresEqualsTheOneFromASummary() throws {
        let sink = CollectingSink()
        let recorder = DNSFlowRecorder(flows: sink)
        let ips: [IPAddress] = [.v4(IPv4Address(192, 0, 2, 1)), .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: 1))]
        recorder.response(query(), summary: summary(ips: ips), rcode: .noError, verdict: .forwarded, now: 5_000)
        recorder.response(
            query(), types: [.a, .aaaa, .cname, .other], ttl: 60, ips: ips, rcode: .noError, verdict: .forwarded,
            now: 5_000)
        let flows = sink.flows
        XCTAssertEqual(flows.count, 2)
        XCTAssertEqual(flows[0], flows[1])
        XCTAssertEqual(flows[1].l7?.dns?.ips, ["192.0.2.1", "2001:db8::1"])
        XCTAssertEqual(
            DNSAnswerTypes(
                AnswerScan(
                    rcode: .noError, ttl: 1, cnames: 0, hasA: true, hasAAAA: false, hasCNAME: true, hasOther: false)),
            [.a, .cname])
    }

    func testAPolicyDropIsAnL3L4Drop() throws {
        let sink = CollectingSink()
        DNSFlowRecorder(flows: sink).policyDrop(query())
        let flow = try XCTUnwrap(sink.flows.first)
        XCTAssertEqual(flow.verdict, .dropped)
        XCTAssertEqual(flow.type, .l3L4)
        XCTAssertEqual(flow.dropReason, UInt32(DropReason.policyDenied.rawValue))
        DNSFlowRecorder(flows: nil).request(query(), verdict: .forwarded)
    }
}
