import DNS
import Flows
import Foundation
import Glibc
import Policy
import PolicyYAML
import SluiceIO
import SluiceModel
import XCTest

@testable import Agent
@testable import Proxy

/// One DNS proxy worker on loopback: a real loop and UDP listener, queries from a test socket,
/// allowed queries sent to a `DNSFakeUpstream` (the upstream override stands in for the original
/// destination, which is the listener itself here). No BPF. The loop's time is a `ManualClock`:
/// forward timeouts and answer-gate delays pass only when the test calls `advance(by:)`.
final class DNSProxyHarness: ManualLoopDriver {
    static let clientID: UInt32 = 7
    static let dnsID: UInt32 = 1
    static let endpoints = [
        EndpointDescriptor(
            id: dnsID, namespace: "kube-system", podName: "kube-dns", podLabels: ["k8s-app": "kube-dns"],
            ipv4: UInt32(bigEndian: 0x0A01_000A)),
        EndpointDescriptor(
            id: clientID, namespace: "default", podName: "client", podLabels: ["app": "client"],
            ipv4: UInt32(bigEndian: 0x0A00_0007)),
    ]

    let upstream = DNSFakeUpstream()
    let sink = CollectingSink()
    let clock = ManualClock()
    let loop: EventLoop
    let worker: DNSWorker
    let port: UInt16
    let client: Int32
    /// The worker's listener (closed once the loop has stopped).
    private let listenerFD: Int32
    private let thread: WorkerThread

    /// A CNP letting app=client query kube-dns on `port`/`proto` for names matching `patterns`.
    static func yaml(port: UInt16, proto: String = "UDP", patterns: [String]) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: client-dns, namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: client}}
          egress:
          - toEndpoints:
            - matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}
            toPorts:
            - ports: [{port: "\(port)", protocol: \(proto)}]
              rules:
                dns:
        \(patterns.map { "          - matchPattern: \"\($0)\"" }.joined(separator: "\n"))

        """
    }

    init(
        patterns: [String] = ["*.allowed.test", "silent.test"], config: DNSProxyConfig = DNSProxyConfig(),
        service: FQDNService? = nil, steered: Bool = true, tcpUpstreamPort: UInt16? = nil,
        denyCache: DNSDenyCache? = nil, steeringEpoch: (epoch: UInt64, lastChangeNs: UInt64)? = nil
    ) throws {
        let tcp = tcpUpstreamPort != nil
        // No SO_REUSEPORT: a port-0 bind with it may get the port of another reuseport socket
        // (an earlier harness's listener, another test process's), and the two then split the
        // client's datagrams between them ("no answer" under load).
        let fd =
            tcp
            ? try Socket.listenTCP(address: DNSTest.loopback, port: 0, transparent: true, reusePort: false)
            : try DNSSocket.listenUDP(address: DNSTest.loopback, port: 0, reusePort: false)
        listenerFD = fd
        port = DNSTest.port(of: fd)
        let repository = PolicyRepository()
        try repository.apply(
            yamlText: Self.yaml(port: port, proto: tcp ? "TCP" : "UDP", patterns: patterns),
            fileName: "dns.yaml")
        var allocator = IdentityAllocator()
        let snapshot = repository.compile(endpoints: Self.endpoints, allocator: &allocator)
        let steer = SteerInfo(
            endpointID: Self.clientID, sourceIdentity: snapshot.identity(ofEndpoint: Self.clientID) ?? 0,
            destinationIdentity: snapshot.identity(ofEndpoint: Self.dnsID) ?? 0, direction: .egress)
        loop = try EventLoop(clock: clock)
        let ctx = WorkerContext(
            loop: loop, config: ProxyConfig(workers: 1),
            steering: FixedSteering(steered ? steer : nil, denyCache: denyCache, epoch: steeringEpoch),
            flows: sink, snapshot: snapshot)
        var config = config
        config.upstreamOverride = DNSEndpointAddress(address: DNSTest.loopback, port: tcpUpstreamPort ?? upstream.port)
        worker = DNSWorker(ctx: ctx, config: config, service: service)
        try worker.start(udpFD: tcp ? -1 : fd, tcpFD: tcp ? fd : -1)
        let loop = self.loop
        thread = WorkerThread(name: "test-loop") { loop.run() }
        try thread.start()
        client = DNSTest.udpSocket()
    }

    deinit {
        loop.stop()
        thread.join()
        upstream.stop()
        close(client)
        close(listenerFD)
    }

    /// Sends `bytes` to the proxy and waits for one answer.
    func ask(_ bytes: [UInt8]) -> [UInt8]? {
        DNSTest.send(client, bytes, port: port)
        return DNSTest.receive(client)?.bytes
    }

    /// The forwarder's queued deadlines, read on the loop thread (nil without a forwarder).
    func queuedDeadlines() -> Int? {
        let worker = self.worker
        return onLoop { worker.forwarder?.queuedDeadlines }
    }

    /// Reads the worker's counters on its loop thread.
    func counters() -> DNSCounters {
        let worker = self.worker
        return onLoop { worker.counters }
    }
}

/// A DNS message parsed from an answer; fails the test when there was none.
func parse(_ bytes: [UInt8]?) throws -> DNSMessage {
    let bytes = try XCTUnwrap(bytes, "no answer")
    return try bytes.withUnsafeBytes { try DNSParser.parse($0) }
}

extension DNSTest {
    /// A blocking TCP client connected to 127.0.0.1:`port` with a 3 s receive timeout and, when
    /// given, a receive buffer of `receiveBuffer` bytes. Throws the errno of a failed connect.
    static func connectTCP(port: UInt16, receiveBuffer: Int32? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var tv = timeval(tv_sec: 3, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = loopback
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard r == 0 else {
            let e = errno
            close(fd)
            throw ConnectFailed(errno: e)
        }
        return fd
    }

    struct ConnectFailed: Error { var errno: Int32 }

    /// Connects to the proxy's TCP listener, sends `queries` pipelined, reads `count` answers.
    static func exchangeTCP(port: UInt16, _ queries: [[UInt8]], count: Int) -> [DNSMessage] {
        guard let fd = try? connectTCP(port: port) else { return [] }
        defer { close(fd) }
        let all = queries.compactMap { DNSTCPFramer.frame($0) }.flatMap { $0 }
        _ = all.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        var framer = DNSTCPFramer()
        var answers: [DNSMessage] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while answers.count < count {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            let messages =
                (try? buffer.withUnsafeBytes { try framer.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) ?? []
            answers += messages.compactMap { m in try? m.withUnsafeBytes { try DNSParser.parse($0) } }
        }
        return answers
    }
}
