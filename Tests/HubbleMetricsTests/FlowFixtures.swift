import Flows

/// Flow values shaped like the records Sluice writes, for the handler tests.
enum FlowFixtures {
    static let client = FlowEndpoint(
        id: 11, identity: 1001, namespace: "default",
        labels: ["k8s:app=client", "k8s:io.kubernetes.pod.namespace=default"],
        podName: "client-7d9f8b-xk2lp")
    static let server = FlowEndpoint(
        id: 12, identity: 1002, namespace: "prod", labels: ["k8s:app.kubernetes.io/name=api", "k8s:k8s-app=other"],
        podName: "server")
    static let world = FlowEndpoint(identity: 2, labels: ["reserved:world"])
    static let ip = Flow.IP(source: "10.244.0.11", destination: "10.244.1.12", ipVersion: .ipv4)

    /// A trace record of a TCP packet with `flags` at observation sub-type `point`.
    static func tcpTrace(
        _ flags: Flow.TCPFlags, point: Int32 = 0, reason: Flow.TraceReason = .new, isReply: Bool? = false,
        destination: FlowEndpoint = server, port: UInt16 = 80, direction: Flow.TrafficDirection = .egress
    ) -> Flow {
        var f = Flow(
            verdict: .forwarded, ip: ip, l4: .tcp(Flow.TCP(sourcePort: 40000, destinationPort: port, flags: flags)),
            source: client, destination: destination, type: .l3L4,
            eventType: Flow.EventType(type: Flow.EventType.trace, subType: point), trafficDirection: direction,
            isReply: isReply)
        f.traceReason = reason
        return f
    }

    /// A drop record of a TCP SYN for `reason`.
    static func tcpDrop(reason: UInt32 = 133, destination: FlowEndpoint = server) -> Flow {
        Flow(
            verdict: .dropped, dropReason: reason, ip: ip,
            l4: .tcp(Flow.TCP(sourcePort: 40000, destinationPort: 8080, flags: .syn)), source: client,
            destination: destination, type: .l3L4,
            eventType: Flow.EventType(type: Flow.EventType.drop, subType: Int32(reason)), trafficDirection: .egress)
    }

    /// An HTTP request (or response with `code`) flow of the proxy, egress from the client.
    static func http(
        _ method: String = "GET", code: UInt32? = nil, latencyNs: UInt64 = 0, verdict: Flow.Verdict = .forwarded,
        direction: Flow.TrafficDirection = .egress, protocol proto: String = "HTTP/1.1"
    ) -> Flow {
        let isResponse = code != nil
        return Flow(
            verdict: verdict,
            ip: isResponse ? Flow.IP(source: ip.destination, destination: ip.source, ipVersion: .ipv4) : ip,
            l4: .tcp(Flow.TCP(sourcePort: isResponse ? 80 : 40000, destinationPort: isResponse ? 40000 : 80)),
            source: isResponse ? server : client, destination: isResponse ? client : server, type: .l7,
            l7: Flow.Layer7(
                type: isResponse ? .response : .request, latencyNs: latencyNs,
                record: .http(Flow.HTTP(code: code ?? 0, method: method, url: "http://server/get", protocol: proto))),
            eventType: Flow.EventType(type: Flow.EventType.l7), trafficDirection: direction, isReply: isResponse)
    }

    /// A DNS query, or its answer when `rcode` is given.
    static func dns(
        _ name: String = "example.com.", qtypes: [String] = ["A"], rcode: UInt32? = nil, ips: [String] = [],
        rrtypes: [String] = [], verdict: Flow.Verdict = .forwarded
    ) -> Flow {
        let isResponse = rcode != nil
        return Flow(
            verdict: verdict, ip: ip, l4: .udp(Flow.UDP(sourcePort: 5353, destinationPort: 53)), source: client,
            destination: world, type: .l7,
            l7: Flow.Layer7(
                type: isResponse ? .response : .request,
                record: .dns(Flow.DNS(query: name, ips: ips, rcode: rcode ?? 0, qtypes: qtypes, rrtypes: rrtypes))),
            eventType: Flow.EventType(type: Flow.EventType.l7), trafficDirection: .egress, isReply: isResponse)
    }
}
