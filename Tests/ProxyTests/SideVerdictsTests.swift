import CSluiceShared
import Flows
import Foundation
import Glibc
import Policy
import SluiceIO
import SluiceTestSupport
import XCTest

@testable import Proxy

/// Both sides' L7 rules on one connection (`SideVerdicts`): the client's egress rules and the
/// backend's ingress rules, decided in one pass; a request passes only when both allow it, and
/// each side writes its own request and response flows naming the policy that decided.
final class SideVerdictsTests: ProxyTestCase {
    /// The client's egress: visibility only (`http: [{}]`); the backend's ingress: GET /allowed.*.
    private func startBothSides(
        _ script: @escaping (TestSocket) -> Void, egress: [String] = ["{}"],
        ingress: [String] = ["{method: GET, path: \"/allowed.*\"}"]
    ) throws {
        try start(
            script, policy: { TestPolicy.bothSidesYAML(port: $0, egress: egress, ingress: ingress) },
            steer: TestPolicy.bothSidesSteer)
    }

    private var directory: EndpointDirectory { TestPolicy.directory(snapshot) }
    private func policy(_ name: String) -> [Flow.Policy] {
        [Flow.Policy(name: name, namespace: "default", kind: "CiliumNetworkPolicy")]
    }

    func testARequestBothSidesAllowIsForwardedWithAFlowPerSide() throws {
        try startBothSides(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET /allowed/both HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 26\r\n\r\nGET /allowed/both HTTP/1.1")
        _ = proxy.sink.waitForFlows(4)
        let flows = proxy.sink.flows(directory: directory)
        XCTAssertEqual(
            flows.map { "\($0.l7?.type ?? .unknown) \($0.trafficDirection) \($0.verdict)" },
            [
                "request egress forwarded", "request ingress forwarded",
                "response ingress forwarded", "response egress forwarded",
            ], "the egress side first on the way in, the ingress side first on the way out")
        XCTAssertEqual(flows[0].egressAllowedBy, policy("client-egress"))
        XCTAssertEqual(flows[1].ingressAllowedBy, policy("backend-ingress"))
        XCTAssertTrue(
            flows[2...].allSatisfy {
                $0.egressAllowedBy.isEmpty && $0.ingressAllowedBy.isEmpty && $0.http?.code == 200
            })
        // Both endpoints and both identities on every record.
        let client = try XCTUnwrap(snapshot.identity(ofEndpoint: TestPolicy.clientID))
        let backend = try XCTUnwrap(snapshot.identity(ofEndpoint: TestPolicy.backendID))
        for f in flows where f.l7?.type == .request {
            XCTAssertEqual(f.source?.id, TestPolicy.clientID)
            XCTAssertEqual(f.destination?.id, TestPolicy.backendID)
            XCTAssertEqual(f.source?.identity, client)
            XCTAssertEqual(f.destination?.identity, backend)
        }
        for f in flows where f.l7?.type == .response {
            XCTAssertEqual(f.source?.id, TestPolicy.backendID)
            XCTAssertEqual(f.destination?.id, TestPolicy.clientID)
        }
    }

    func testTheIngressSideDeniesWhatTheEgressSideAllows() throws {
        try startBothSides(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("POST /post HTTP/1.1\r\nhost: backend\r\ncontent-length: 2\r\n\r\nhi")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        c.send("GET /status/418 HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        c.send("GET /allowed/after HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 27\r\n\r\nGET /allowed/after HTTP/1.1",
            "the connection goes on after the denials")
        XCTAssertEqual(
            upstream.received(), "GET /allowed/after HTTP/1.1\r\nhost: backend\r\n\r\n",
            "nothing the ingress side denied reached the backend")

        _ = proxy.sink.waitForFlows(12)
        let flows = proxy.sink.flows(directory: directory)
        let post = flows.filter { $0.http?.method == "POST" }
        XCTAssertEqual(
            post.map { "\($0.l7?.type ?? .unknown) \($0.trafficDirection) \($0.verdict) \($0.http?.code ?? 0)" },
            [
                "request egress forwarded 0", "request ingress dropped 0",
                "response ingress forwarded 403", "response egress forwarded 403",
            ])
        XCTAssertEqual(post[0].egressAllowedBy, policy("client-egress"))
        XCTAssertEqual(post[1].ingressDeniedBy, policy("backend-ingress"), "the denial names the ingress policy")
        XCTAssertTrue(post[1].egressDeniedBy.isEmpty && post[1].ingressAllowedBy.isEmpty)
        let teapot = flows.filter { $0.http?.url == "http://backend/status/418" && $0.verdict == .dropped }
        XCTAssertEqual(teapot.map(\.trafficDirection), [.ingress])
    }

    func testADenialOfTheEgressSideNeverReachesTheIngressSide() throws {
        try startBothSides(
            UpstreamServer.echoRequestLine, egress: ["{method: GET}"],
            ingress: ["{method: POST}", "{method: GET, path: \"/allowed.*\"}"])
        let c = try client()
        c.send("POST /allowed HTTP/1.1\r\nhost: backend\r\ncontent-length: 0\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        _ = proxy.sink.waitForFlows(2)
        let flows = proxy.sink.flows(directory: directory)
        XCTAssertEqual(
            flows.map { "\($0.l7?.type ?? .unknown) \($0.trafficDirection) \($0.verdict)" },
            [
                "request egress dropped", "response egress forwarded",
            ], "one proxy's worth of flows: the ingress side never saw the request")
        XCTAssertEqual(flows[0].egressDeniedBy, policy("client-egress"))
        XCTAssertTrue(upstream.connections.isEmpty)
    }

    func testAPeerTheIngressSideDoesNotAdmitIsResetWithAnIngressDrop() throws {
        try start(
            UpstreamServer.echoRequestLine,
            policy: {
                TestPolicy.bothSidesYAML(
                    port: $0, egress: ["{}"], ingress: ["{}"],
                    ingressPeer: "app: somebody-else")
            },
            steer: TestPolicy.bothSidesSteer)
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(c.readToEnd(), [])
        XCTAssertEqual(c.end, .reset)
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(
            flows.map { "\($0.type) \($0.trafficDirection) \($0.verdict)" },
            [
                "l7 egress forwarded", "l3L4 ingress dropped",
            ])
        XCTAssertEqual(flows.last?.dropReasonDesc, .policyDenied)
    }

    func testHTTP2StreamsAreDecidedOnBothSides() throws {
        try startBothSides(HTTP2Peer.upstreamScript)
        let c = try HTTP2Peer(socket: try client(), role: .client)
        let allowed = try c.session.submitRequest(HTTP2Peer.request("GET", "/allowed/h2"), hasBody: false)
        let denied = try c.session.submitRequest(HTTP2Peer.request("DELETE", "/allowed/h2"), hasBody: false)
        XCTAssertTrue(c.pump { _ in c.isClosed(allowed) && c.isClosed(denied) })
        XCTAssertEqual(c.headers(allowed).first?.text(of: ":status"), "200")
        XCTAssertEqual(c.headers(denied).first?.text(of: ":status"), "403")
        _ = proxy.sink.waitForFlows(8)
        let flows = proxy.sink.flows(directory: directory)
        XCTAssertTrue(flows.allSatisfy { $0.http?.protocol == "HTTP/2" })
        let delete = flows.filter { $0.http?.method == "DELETE" }
        XCTAssertEqual(
            delete.map { "\($0.l7?.type ?? .unknown) \($0.trafficDirection) \($0.verdict)" },
            [
                "request egress forwarded", "request ingress dropped",
                "response ingress forwarded", "response egress forwarded",
            ])
        XCTAssertEqual(delete[1].ingressDeniedBy, policy("backend-ingress"))
        let get = flows.filter { $0.http?.method == "GET" && $0.l7?.type == .request }
        XCTAssertEqual(get.map(\.trafficDirection), [.egress, .ingress])
        XCTAssertEqual(get.map(\.verdict), [.forwarded, .forwarded])
    }

    func testPooledUpstreamConnectionsAreNotSharedAcrossIdentities() throws {
        upstream = try XCTUnwrap(UpstreamServer(script: UpstreamServer.echoRequestLine))
        snapshot = try TestPolicy.snapshot(
            """
            apiVersion: cilium.io/v2
            kind: CiliumNetworkPolicy
            metadata: {name: open, namespace: default}
            spec:
              endpointSelector: {matchLabels: {app: backend}}
              ingress:
              - fromEntities: [all]
                toPorts:
                - ports: [{port: "\(upstream.port)", protocol: TCP}]
                  rules: {http: [{}]}
            """)
        let backend = snapshot.identity(ofEndpoint: TestPolicy.backendID) ?? 0
        let steering = SequenceSteering(
            [1001, 1001, 2].map {
                SteerInfo(
                    sourceEndpoint: 0, destinationEndpoint: TestPolicy.backendID, sourceIdentity: $0,
                    destinationIdentity: backend, sides: .ingress)
            })
        proxy = try ProxyHarness(snapshot: snapshot, steer: nil, steering: steering)
        for i in 1...3 {
            let c = try proxy.connect(upstreamPort: upstream.port)
            c.send("GET /\(i) HTTP/1.1\r\nhost: backend\r\nconnection: close\r\n\r\n")
            XCTAssertEqual(c.readToEnd().count > 0, true)
        }
        // Clients 1 and 2 share an identity (and the pooled connection); client 3 is world: the
        // connection marked with identity 1001 is not reused for it.
        XCTAssertEqual(upstream.connections.count, 2)
    }

    func testUpstreamMarksCarryTheClientIdentity() {
        let steer = SteerInfo(
            sourceEndpoint: 7, destinationEndpoint: 3, sourceIdentity: 0x0100_0005,
            destinationIdentity: 257, sides: [.egress, .ingress])
        XCTAssertEqual(steer.upstreamMark & 0x0F00, 0x0B00)
        XCTAssertEqual(sluice_mark_identity(steer.upstreamMark), 0x0100_0005)
    }
}

/// Answers successive lookups with successive entries (the last one repeats).
final class SequenceSteering: SteeringTable {
    private let lock = NSLock()
    private var answers: [SteerInfo]
    init(_ answers: [SteerInfo]) { self.answers = answers }

    func lookup(
        sourceAddress: UInt32, sourcePort: UInt16, destinationAddress: UInt32, destinationPort: UInt16,
        protocol: UInt8
    ) -> SteerInfo? {
        lock.lock()
        defer { lock.unlock() }
        return answers.count > 1 ? answers.removeFirst() : answers.first
    }
}
