import Foundation
@testable import Policy
import PolicyYAML

/// An HTTP request for tests: owns copies of its bytes for the lifetime of the value.
final class TestRequest: HTTPRequestFields {
    private var storage: [UnsafeMutableRawBufferPointer] = []
    private(set) var method = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var path = UnsafeRawBufferPointer(start: nil, count: 0)
    private(set) var authority = UnsafeRawBufferPointer(start: nil, count: 0)
    private var headers: [(UnsafeRawBufferPointer, UnsafeRawBufferPointer)] = []

    init(_ method: String, _ path: String, host: String = "backend", headers: [(String, String)] = []) {
        self.method = copy(method)
        self.path = copy(path)
        self.authority = copy(host)
        self.headers = headers.map { (copy($0.0), copy($0.1)) }
    }

    deinit {
        storage.forEach { $0.deallocate() }
    }

    private func copy(_ text: String) -> UnsafeRawBufferPointer {
        let bytes = Array(text.utf8)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        buffer.copyBytes(from: bytes)
        storage.append(buffer)
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<bytes.count])
    }

    func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        for (name, value) in headers where !body(name, value) {
            return
        }
    }
}

enum Fixtures {
    /// proxy-config/examples in the repository.
    static let examples: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("proxy-config/examples")

    static func example(_ relative: String) throws -> String {
        try String(contentsOf: examples.appendingPathComponent(relative), encoding: .utf8)
    }

    /// 10.0.0.x in network byte order.
    static func ip(_ last: UInt8) -> UInt32 {
        UInt32(bigEndian: 0x0A00_0000 | UInt32(last))
    }

    static func endpoint(_ id: UInt32, _ namespace: String, _ pod: String, _ labels: [String: String],
                         namespaceLabels: [String: String] = [:], namedPorts: [String: UInt16] = [:]) -> EndpointDescriptor {
        EndpointDescriptor(id: id, namespace: namespace, podName: pod, podLabels: labels,
                           namespaceLabels: ["kubernetes.io/metadata.name": namespace].merging(namespaceLabels) { $1 },
                           ipv4: ip(UInt8(id)), namedPorts: namedPorts)
    }

    /// The DigitalOcean tutorial's pods: frontend, backend, database, and a client in default.
    static let tutorialEndpoints: [EndpointDescriptor] = [
        endpoint(1, "frontend", "frontend-6d4b", ["app": "frontend"], namespaceLabels: ["name": "frontend"]),
        endpoint(2, "backend", "backend-7f8b", ["app": "backend"], namespaceLabels: ["name": "backend"]),
        endpoint(3, "database", "db-5c6d", ["app": "database"], namespaceLabels: ["name": "database"]),
        endpoint(4, "default", "curl-test", ["run": "curl-test"]),
    ]
}

extension Fixtures {
    /// The blog's three-tier app (blog-service-boundaries-cilium.txt) plus its netshoot clients:
    /// kube-dns 1, frontend/web 2, backend/api 3, db/postgres 4, frontend/test 5, backend/app 6.
    static let blogEndpoints: [EndpointDescriptor] = [
        endpoint(1, "kube-system", "kube-dns", ["k8s-app": "kube-dns"]),
        endpoint(2, "frontend", "web", ["app": "web"], namespaceLabels: ["tier": "frontend"]),
        endpoint(3, "backend", "api", ["app": "api"], namespaceLabels: ["tier": "backend"]),
        endpoint(4, "db", "postgres", ["app": "postgres"], namespaceLabels: ["tier": "db"]),
        endpoint(5, "frontend", "test", ["run": "test"], namespaceLabels: ["tier": "frontend"]),
        endpoint(6, "backend", "app", ["run": "app"], namespaceLabels: ["tier": "backend"]),
    ]

    /// Compiles policy texts (one file each) against `endpoints`.
    static func compile(_ texts: [String], endpoints: [EndpointDescriptor] = tutorialEndpoints,
                        kubeAPIServer: [UInt32] = []) throws -> PolicySnapshot {
        let repository = PolicyRepository()
        repository.kubeAPIServerIPv4 = kubeAPIServer
        for (index, text) in texts.enumerated() {
            try repository.apply(yamlText: text, fileName: "p\(index).yaml")
        }
        var allocator = IdentityAllocator()
        return repository.compile(endpoints: endpoints, allocator: &allocator)
    }
}

extension PolicySnapshot {
    /// The datapath's decision, as bpf/lib/policy.h takes it: no enforcement = `allow`; any
    /// covering deny = `deny-181`; an allow = `allow`, a redirect = `proxy`; else `denied-133` or
    /// `allow` by the mode.
    func decision(endpoint: UInt32, _ direction: Direction, peer: UInt32, port: UInt16,
                  proto: UInt8 = IPProtocol.tcp) -> String {
        guard let mode = policyEnforcement.first(where: { $0.endpointID == endpoint && $0.direction == direction })
        else { return "allow" }
        let keys = [(peer, port), (peer, 0), (0, port), (0, 0)].map {
            PolicyMapKey(endpointID: endpoint, identity: $0.0, port: $0.1, proto: proto, direction: direction)
        }
        let actions = keys.compactMap { policyMap[$0] }
        if actions.contains(.deny) { return "deny-181" }
        if let first = actions.first { return first == .allow ? "allow" : "proxy" }
        return mode.defaultDeny ? "denied-133" : "allow"
    }

    /// The identity of the endpoint with ID `id` (Fixtures address 10.0.0.id).
    func endpointIdentity(_ id: UInt8) -> UInt32 { identity(ofIPv4: Fixtures.ip(id)) }

    /// The identity the ipcache gives an address (longest prefix).
    func ipcacheIdentity(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> UInt32 {
        let host = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
        var best: IPCacheEntry?
        for entry in ipcacheEntries() {
            let mask: UInt32 = entry.prefixLength == 0 ? 0 : UInt32.max << (32 - UInt32(entry.prefixLength))
            if host & mask == entry.ipv4.bigEndian, entry.prefixLength >= (best?.prefixLength ?? 0) { best = entry }
        }
        return best?.identity ?? 0
    }
}
