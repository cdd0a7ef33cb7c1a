import Policy
import PolicyYAML

/// The measured reason for RE2 over Swift's Regex, and for the byte engines over RE2: ns/op of
/// one policy decision whose path rule is an RE2 pattern (`/anything/[a-z/]*`), a prefix pattern
/// (`/anything/.*`, matched without RE2), and Swift Regex's `wholeMatch` of the RE2 pattern, on
/// the same subject. Every call must match.
enum RegexBenchmark {
    /// A GET request for `path` (the policy's input view).
    struct Request: HTTPRequestFields {
        let bytes: UnsafeRawBufferPointer
        let methodBytes: UnsafeRawBufferPointer
        var method: UnsafeRawBufferPointer { methodBytes }
        var path: UnsafeRawBufferPointer { bytes }
        var authority: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }
        func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {}
    }

    static func policy(port: UInt16, path: String) -> String {
        """
        apiVersion: cilium.io/v2
        kind: CiliumNetworkPolicy
        metadata: {name: p\(port), namespace: default}
        spec:
          endpointSelector: {matchLabels: {app: server}}
          ingress:
          - toPorts:
            - ports: [{port: "\(port)", protocol: TCP}]
              rules:
                http:
                - {method: GET, path: "\(path)"}
        """
    }

    static func run() throws {
        let iterations = 100_000
        let repository = PolicyRepository()
        _ = try repository.apply(yamlText: policy(port: 80, path: "/anything/[a-z/]*"), fileName: "re2.yaml")
        _ = try repository.apply(yamlText: policy(port: 81, path: "/anything/.*"), fileName: "prefix.yaml")
        var allocator = IdentityAllocator()
        let server = EndpointDescriptor(
            id: 1, namespace: "default", podName: "server", podLabels: ["app": "server"],
            ipv4: 0x0100_000A)
        let snapshot = repository.compile(endpoints: [server], allocator: &allocator)
        let subject = "/anything/foo/bar"
        let path = Array(subject.utf8), get = Array("GET".utf8)
        func nanos(port: UInt16) -> Double {
            guard let http = snapshot.httpPolicy(endpointID: 1, direction: .ingress, port: port) else {
                check(false, "no HTTP policy on port \(port)")
                return 0
            }
            var allowed = 0
            let ns = path.withUnsafeBytes { p in
                get.withUnsafeBytes { m in
                    let request = Request(bytes: p, methodBytes: m)
                    return timed {
                        for _ in 0..<iterations where http.decide(peerIdentity: 2, request: request).allowed {
                            allowed += 1
                        }
                    }
                }
            }
            check(allowed == iterations, "port \(port): \(allowed) of \(iterations) allowed")
            return ns / Double(iterations)
        }
        let re2Nanos = nanos(port: 80)
        let prefixNanos = nanos(port: 81)
        let swiftRegex = try _StringProcessing.Regex("/anything/[a-z/]*")
        var matches = 0
        let swiftNanos =
            timed {
                for _ in 0..<iterations where (try? swiftRegex.wholeMatch(in: subject)) != nil { matches += 1 }
            } / Double(iterations)
        check(matches == iterations, "Swift Regex: \(matches) of \(iterations) matched")
        print(
            "regex: decide with an RE2 path rule \(Int(re2Nanos)) ns/op, with a prefix rule (/anything/.*) "
                + "\(Int(prefixNanos)) ns/op; Swift Regex wholeMatch alone \(Int(swiftNanos)) ns/op "
                + "(\(iterations) iterations, subject \(subject))")
    }
}
