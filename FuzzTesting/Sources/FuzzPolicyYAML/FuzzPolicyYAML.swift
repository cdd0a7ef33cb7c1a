import CFuzzDriver
import Policy
import PolicyYAML

/// libFuzzer entry: arbitrary text applied to a `PolicyRepository` as a policy file. It must be
/// accepted or refused with a `LoadError`, never trap; what is accepted must compile against a
/// few endpoints, dump, and list.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicyYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let repository = PolicyRepository()
    do {
        try repository.apply(yamlText: text, fileName: "fuzz.yaml")
    } catch {
        _ = String(describing: error)
        return 0
    }
    var allocator = IdentityAllocator()
    let snapshot = repository.compile(endpoints: endpoints, allocator: &allocator)
    _ = snapshot.canonicalDump()
    _ = repository.listing()
    return 0
}

private let endpoints = [
    EndpointDescriptor(id: 1, namespace: "default", podName: "web", podLabels: ["app": "web"],
                       ipv4: 0x0100_000A, namedPorts: ["http": 80]),
    EndpointDescriptor(id: 2, namespace: "backend", podName: "api", podLabels: ["app": "api", "tier": "b"],
                       namespaceLabels: ["team": "x"], ipv4: 0x0200_000A),
    EndpointDescriptor(id: 3, namespace: "kube-system", podName: "dns", podLabels: ["k8s-app": "kube-dns"],
                       ipv4: 0x0300_000A, namedPorts: ["dns": 53, "dns-tcp": 53]),
]

/// The executable's entry (see CFuzzDriver.h): libFuzzer's driver with this target's callback.
@_cdecl("FuzzPolicyYAML_main")
public func fuzzPolicyYAMLMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzPolicyYAML(data, size)
    }
}
