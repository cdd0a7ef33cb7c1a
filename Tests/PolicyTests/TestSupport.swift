import Foundation
import PolicyYAML
import SluiceTestSupport

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

/// The shared policy fixtures (Tests/SluiceTestSupport/PolicyFixtures.swift).
typealias Fixtures = PolicyFixtures

extension PolicySnapshot {
    /// The identity of the endpoint with ID `id` (Fixtures address 10.0.0.id).
    func endpointIdentity(_ id: UInt8) -> UInt32 { identity(ofIPv4: Fixtures.ip(id)) }
}

/// The error `PolicyRepository.apply` gives for `yaml` (file "policy.yaml"), nil when it loads.
func policyLoadError(_ yaml: String) -> LoadError? {
    do {
        try PolicyRepository().apply(yamlText: yaml, fileName: "policy.yaml")
        return nil
    } catch {
        return error
    }
}

/// A CiliumNetworkPolicy in namespace backend with one toPorts entry: `ports` and `rules` are
/// YAML lines indented for their place.
func cnpWithOneToPorts(ports: String, rules: String, direction: String = "ingress") -> String {
    """
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata:
      name: p
      namespace: backend
    spec:
      endpointSelector: {}
      \(direction):
      - toPorts:
        - ports:
    \(ports)
          rules:
    \(rules)
    """
}

/// The first document of `yaml` as the `YAMLValue` a parser step takes, at YAML path `path`
/// (file "t.yaml").
func yamlValue(_ yaml: String, path: String = "spec") throws -> YAMLValue {
    YAMLValue(node: try PolicyYAML.documents(yaml, fileName: "t.yaml")[0], path: path, file: "t.yaml")
}

/// The message of the `LoadError` `body` throws, nil when it does not throw.
func loadErrorMessage<T>(_ body: () throws(LoadError) -> T) -> String? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.message
    }
}
