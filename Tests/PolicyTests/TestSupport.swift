import Foundation
@testable import Policy

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
