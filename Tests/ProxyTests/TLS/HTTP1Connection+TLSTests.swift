import Flows
import Glibc
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Proxy

/// `serverNames` connections through `EmbeddedHTTP1`: the ClientHello is read however it is
/// split, an allowed SNI is spliced to the original destination byte for byte (the first flight
/// included), a denied SNI is reset with a DROPPED flow naming it, a connection without SNI or
/// not TLS is denied, a stalled hello times out.
final class HTTP1ConnectionTLSTests: XCTestCase {
    private func make(_ names: [String] = ["api.example.com", "*.allowed.test"]) throws -> EmbeddedHTTP1 {
        let snapshot = try TLSTestWorld.snapshot(serverNames: names)
        return try EmbeddedHTTP1(
            snapshot: snapshot, steer: TLSTestWorld.egressSteer(snapshot), upstreamPort: TLSTestWorld.port)
    }

    private func send(_ e: EmbeddedHTTP1, _ bytes: [UInt8]) {
        e.transport.clientPipe.inbound.append(contentsOf: bytes)
        e.connection.handleEvents(EventLoop.Events.readable, tag: HTTP1Tag.downstream)
    }

    func testAllowedSNIIsSplicedUntouched() throws {
        let e = try make()
        XCTAssertEqual(e.state, .tlsHello)
        let hello = TLSTestWorld.clientHello(serverName: "API.example.com")
        send(e, hello)
        XCTAssertEqual(e.actions, [.connect])
        XCTAssertEqual(e.state, .connecting)
        e.upstreamConnects()
        XCTAssertEqual(e.state, .tunnel(upstreamEnded: false))
        XCTAssertEqual(e.upstream?.outbound, hello, "the first flight reaches the upstream as it came")
        e.upstream?.outbound.removeAll()
        send(e, [0x14, 0x03, 0x03, 0x00, 0x01, 0x01])
        XCTAssertEqual(e.upstream?.outbound, [0x14, 0x03, 0x03, 0x00, 0x01, 0x01])
        e.upstream?.inbound.append(contentsOf: [0x16, 0x03, 0x03, 0x00, 0x02, 0x02, 0x00])
        e.connection.handleEvents(EventLoop.Events.readable, tag: HTTP1Tag.upstream)
        XCTAssertEqual(e.transport.clientPipe.outbound, [0x16, 0x03, 0x03, 0x00, 0x02, 0x02, 0x00])
        XCTAssertEqual(e.flows.count, 1)
        let flow = try XCTUnwrap(e.flows.first)
        XCTAssertEqual(flow.verdict, .forwarded)
        XCTAssertEqual(flow.trafficDirection, .egress)
        XCTAssertEqual(flow.http?.url, "https://api.example.com")
        XCTAssertEqual(flow.http?.protocol, "TLS")
        XCTAssertEqual(flow.l7Verdict?.reason, .ruleMatched)
        e.clientCloses()
        XCTAssertEqual(e.state, .closed)
        XCTAssertFalse(e.transport.clientPipe.reset)
    }

    func testHelloSplitIntoSingleBytesIsReadWhole() throws {
        let e = try make()
        let hello = TLSTestWorld.clientHello(serverName: "x.allowed.test")
        for byte in hello.dropLast() {
            send(e, [byte])
            XCTAssertEqual(e.state, .tlsHello)
        }
        send(e, [hello.last!])
        XCTAssertEqual(e.actions, [.connect])
        e.upstreamConnects()
        XCTAssertEqual(e.upstream?.outbound, hello)
    }

    func testDeniedSNIIsResetWithADroppedFlowNamingIt() throws {
        let e = try make()
        send(e, TLSTestWorld.clientHello(serverName: "evil.example.com"))
        XCTAssertEqual(e.actions, [.closeClient(reset: true)], "no upstream is opened")
        XCTAssertTrue(e.transport.clientPipe.reset)
        XCTAssertEqual(e.transport.clientPipe.outbound, [], "nothing is written back: a reset, not an alert")
        XCTAssertEqual(e.state, .closed)
        let flow = try XCTUnwrap(e.flows.first)
        XCTAssertEqual(e.flows.count, 1)
        XCTAssertEqual(flow.verdict, .dropped)
        XCTAssertEqual(flow.http?.url, "https://evil.example.com")
        XCTAssertEqual(flow.l7Verdict?.reason, .noRuleMatched)
        XCTAssertEqual(flow.summary, "TLS https://evil.example.com")
    }

    func testNoSNIIsDenied() throws {
        let e = try make(["*"])
        send(e, TLSTestWorld.clientHello(serverName: nil))
        XCTAssertTrue(e.transport.clientPipe.reset)
        XCTAssertEqual(e.flows.map(\.verdict), [.dropped])
        XCTAssertEqual(e.flows.first?.http?.url, "https://")
    }

    func testPlainHTTPOnASNIPortIsDenied() throws {
        let e = try make(["*"])
        e.clientSends("GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
        XCTAssertTrue(e.transport.clientPipe.reset)
        XCTAssertEqual(e.actions, [.closeClient(reset: true)])
        XCTAssertEqual(e.flows.map(\.verdict), [.dropped])
    }

    func testMalformedHelloIsDenied() throws {
        let e = try make(["*"])
        var hello = TLSTestWorld.clientHello(serverName: "api.example.com")
        hello[5] = 2  // a ServerHello type where the ClientHello belongs
        send(e, hello)
        XCTAssertTrue(e.transport.clientPipe.reset)
        XCTAssertEqual(e.flows.map(\.verdict), [.dropped])
    }

    func testStalledHelloTimesOutWithAnErrorFlow() throws {
        let e = try make()
        send(e, Array(TLSTestWorld.clientHello(serverName: "api.example.com").prefix(20)))
        XCTAssertEqual(e.state, .tlsHello)
        e.advance(by: e.ctx.config.requestHeadTimeoutNs + 1)
        XCTAssertEqual(e.state, .closed)
        XCTAssertTrue(e.transport.clientPipe.reset)
        let flow = try XCTUnwrap(e.flows.first)
        XCTAssertEqual(flow.verdict, .error)
        XCTAssertEqual(flow.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: ETIMEDOUT))
    }

    func testClientClosingMidHelloLeavesAnErrorFlow() throws {
        for (prefix, errno) in [(20, Int32(0)), (0, 0), (7, ECONNRESET)] {
            let e = try make()
            if prefix > 0 { send(e, Array(TLSTestWorld.clientHello(serverName: "api.example.com").prefix(prefix))) }
            e.clientCloses(errno: errno)
            XCTAssertEqual(e.state, .closed)
            XCTAssertEqual(e.flows.count, 1, "prefix \(prefix)")
            let flow = try XCTUnwrap(e.flows.first)
            XCTAssertEqual(flow.verdict, .error)
            XCTAssertEqual(flow.http?.url, "https://")
            XCTAssertEqual(flow.http?.connectionError, Flow.ConnectionError(side: .downstream, errno: errno))
        }
    }

    func testRefusedUpstreamResetsTheClientWithAnErrorFlow() throws {
        let e = try make()
        e.transport.connectRefusal = ECONNREFUSED
        send(e, TLSTestWorld.clientHello(serverName: "api.example.com"))
        XCTAssertTrue(e.transport.clientPipe.reset)
        XCTAssertEqual(e.transport.clientPipe.outbound, [], "no HTTP 503 on a TLS connection")
        XCTAssertEqual(e.flows.map(\.verdict), [.forwarded, .error])
        XCTAssertEqual(
            e.flows.last?.http?.connectionError, Flow.ConnectionError(side: .upstream, errno: ECONNREFUSED))
    }

    func testAPortWithoutServerNamesStillSpeaksHTTP() throws {
        let snapshot = try TestPolicy.snapshot(TestPolicy.yaml(port: 8080))
        let e = try EmbeddedHTTP1(snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot))
        XCTAssertEqual(e.state, .detecting)
    }

    /// An ingress `serverNames` rule on the server's pod: the same phase, with the client's
    /// identity as the peer and INGRESS flows.
    func testIngressServerNames() throws {
        let yaml = """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: backend-sni, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              ingress:
              - fromEndpoints: [{matchLabels: {app: client}}]
                toPorts:
                - ports: [{port: "8443", protocol: TCP}]
                  serverNames: ["backend.default.svc.cluster.local"]
            """
        let snapshot = try TestPolicy.snapshot(yaml)
        for (name, verdict) in [("backend.default.svc.cluster.local", Flow.Verdict.forwarded), ("x.test", .dropped)] {
            let e = try EmbeddedHTTP1(
                snapshot: snapshot, steer: TestPolicy.ingressSteer(snapshot), upstreamPort: TLSTestWorld.port)
            XCTAssertEqual(e.state, .tlsHello)
            send(e, TLSTestWorld.clientHello(serverName: name))
            XCTAssertEqual(e.flows.map(\.verdict), [verdict], name)
            XCTAssertEqual(e.flows.first?.trafficDirection, .ingress)
            XCTAssertEqual(e.flows.first?.l7Verdict?.reason, verdict == .forwarded ? .ruleMatched : .noRuleMatched)
            XCTAssertEqual(e.actions.first, verdict == .forwarded ? .connect : .closeClient(reset: true), name)
        }
    }
}
