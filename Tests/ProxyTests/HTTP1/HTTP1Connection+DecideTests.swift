import Flows
import Foundation
import Policy
import SluiceTestSupport
import XCTest

@testable import Proxy

/// Policy and flow records at the connection level: a snapshot published mid-connection applies
/// to the next request, and each request/response writes Hubble-shaped L7 flows.
final class HTTP1ConnectionDecideTests: ProxyTestCase {
    func testPublishedSnapshotAppliesToTheNextRequestOnTheSameConnection() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET /other HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))

        let widened = try TestPolicy.snapshot(
            TestPolicy.yaml(
                port: upstream.port,
                rules: ["{method: GET, path: \"/other\"}"]))
        proxy.ctx.publish(widened)
        proxy.onLoop {}  // the publish task ran before this one
        c.send("GET /other HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 19\r\n\r\nGET /other HTTP/1.1", upstreamReport)
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        XCTAssertEqual(upstream.received(), "GET /other HTTP/1.1\r\nhost: backend\r\n\r\n", upstreamReport)
    }

    func testSnapshotWithoutRulesForThePortStopsL7Enforcement() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("DELETE /x HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        proxy.ctx.publish(try TestPolicy.snapshot(TestPolicy.yaml(port: upstream.port &+ 1)))
        proxy.onLoop {}
        c.send("DELETE /x HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 18\r\n\r\nDELETE /x HTTP/1.1")
    }

    func testAllowedRequestWritesForwardedRequestAndResponseFlows() throws {
        try start(UpstreamServer.answering(["HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"], closeAfter: false))
        let c = try client()
        let clientPort = Loopback.localPort(c.fd)
        // Let a measurable time pass between request and response.
        c.send("GET /allowed/flow?q=1 HTTP/1.1\r\nhost: backend:8080\r\n\r\n")
        _ = c.readMessage()
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.count, 2)
        guard flows.count == 2 else { return }
        let (request, response) = (flows[0], flows[1])
        let clientIdentity = try XCTUnwrap(snapshot.identity(ofEndpoint: TestPolicy.clientID))
        let backendIdentity = try XCTUnwrap(snapshot.identity(ofEndpoint: TestPolicy.backendID))

        XCTAssertEqual(request.verdict, .forwarded)
        XCTAssertEqual(request.type, .l7)
        XCTAssertEqual(request.eventType, Flow.EventType(type: Flow.EventType.l7))
        XCTAssertEqual(request.trafficDirection, .ingress)
        XCTAssertEqual(request.isReply, false)
        XCTAssertEqual(request.l7?.type, .request)
        XCTAssertEqual(request.l7?.latencyNs, 0)
        XCTAssertEqual(
            request.http,
            Flow.HTTP(
                code: 0, method: "GET", url: "http://backend:8080/allowed/flow?q=1",
                protocol: "HTTP/1.1"))
        XCTAssertEqual(request.ip, Flow.IP(source: "127.0.0.1", destination: "127.0.0.1", ipVersion: .ipv4))
        XCTAssertEqual(request.l4?.sourcePort, clientPort)
        XCTAssertEqual(request.l4?.destinationPort, upstream.port)
        XCTAssertEqual(request.source?.identity, clientIdentity)
        XCTAssertEqual(request.destination?.identity, backendIdentity)
        XCTAssertEqual(request.destination?.id, TestPolicy.backendID)

        XCTAssertEqual(response.verdict, .forwarded)
        XCTAssertEqual(response.isReply, true)
        XCTAssertEqual(response.trafficDirection, .ingress)
        XCTAssertEqual(response.l7?.type, .response)
        XCTAssertGreaterThan(response.l7?.latencyNs ?? 0, 0)
        XCTAssertEqual(response.http?.code, 200)
        XCTAssertEqual(response.http?.url, "http://backend:8080/allowed/flow?q=1")
        XCTAssertEqual(response.l4?.sourcePort, upstream.port, "response flows swap the addresses")
        XCTAssertEqual(response.l4?.destinationPort, clientPort)
        XCTAssertEqual(response.source?.identity, backendIdentity)
        XCTAssertEqual(response.source?.id, TestPolicy.backendID)
        XCTAssertEqual(response.destination?.identity, clientIdentity)
        XCTAssertGreaterThanOrEqual(response.time, request.time)
    }

    func testDeniedRequestWritesDroppedRequestAnd403ResponseFlows() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("POST /allowed HTTP/1.0\r\nhost: backend\r\ncontent-length: 0\r\n\r\n")
        _ = c.readToEnd()
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.map(\.verdict), [.dropped, .forwarded])
        XCTAssertEqual(flows.map { $0.l7?.type }, [.request, .response])
        XCTAssertEqual(flows.map { $0.http?.code }, [0, 403])
        XCTAssertEqual(flows.map { $0.http?.method }, ["POST", "POST"])
        XCTAssertEqual(flows.map { $0.http?.protocol }, ["HTTP/1", "HTTP/1"])
        XCTAssertEqual(flows.map { $0.http?.url }, ["http://backend/allowed", "http://backend/allowed"])
        XCTAssertGreaterThan(flows.last?.l7?.latencyNs ?? 0, 0)
    }

    func testAbsoluteFormTargetIsDecidedAndRecordedByItsPath() throws {
        try start(UpstreamServer.echoRequestLine)
        let c = try client()
        c.send("GET http://backend.example:81/allowed/abs HTTP/1.1\r\nhost: ignored\r\n\r\n")
        XCTAssertEqual(
            String(decoding: c.readMessage(), as: UTF8.self),
            "HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nGET http://backend.example:81/allowed/abs HTTP/1.1")
        let flows = proxy.sink.waitForFlows(2)
        XCTAssertEqual(flows.first?.http?.url, "http://backend.example:81/allowed/abs")
    }

    func testFlowsOffWritesNothing() throws {
        try start(UpstreamServer.echoRequestLine, config: ProxyConfig(workers: 1, recordFlows: false))
        let c = try client()
        c.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        _ = c.readMessage()
        c.send("GET /denied HTTP/1.1\r\nhost: backend\r\n\r\n")
        XCTAssertEqual(withoutDate(c.readMessage()), localReply("403 Forbidden", body: Self.accessDenied))
        XCTAssertEqual(proxy.sink.flows.count, 0)
    }

    func testConnectionCountFollowsOpenAndClose() throws {
        try start(UpstreamServer.echoRequestLine)
        var c: TestSocket? = try client()
        c?.send("GET /allowed HTTP/1.1\r\nhost: backend\r\n\r\n")
        _ = c?.readMessage()
        XCTAssertEqual(proxy.onLoop { self.proxy.ctx.connectionCount }, 1)
        c = nil  // closes the client socket; the proxy reads EOF and closes both sides
        XCTAssertTrue(eventually { self.proxy.onLoop { self.proxy.ctx.connectionCount } == 0 })
    }
}
