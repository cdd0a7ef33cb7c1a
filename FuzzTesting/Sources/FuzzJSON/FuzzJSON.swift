import CFuzzDriver
import Policy
import SluiceJSON

/// The agent's control request as it arrives on its socket (`ControlRequest` in
/// Sources/SluiceAPI/ControlMessages.swift, `op` on the wire; the fuzz package cannot link
/// SluiceAPI (it needs Flows and SluiceIO), so its fields are
/// repeated here) and the toFQDNs cache file it reads at start (`FQDNCacheFile` in Flows).
private struct ControlRequest: Codable {
    var op: String
    var file: String?
    var documents: [PolicyNode]?
}

private struct FQDNCacheFile: Codable, Equatable {
    struct Item: Codable, Equatable {
        var expiresNs: UInt64
        var lastSeenNs: UInt64
    }
    var version: Int
    var names: [String: [String: Item]]
}

/// libFuzzer entry: arbitrary bytes down the agent's control path, SluiceJSON (its only JSON
/// reader) into a control request whose policy documents are applied to a `PolicyRepository`
/// and compiled, as the agent does; and as its state file. Nothing may trap: a value or a
/// JSONError/LoadError. A parsed value serializes to text that parses to the same value; a
/// decoded request and cache file re-encode to what decodes equal.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let value = try? JSONValue.parse(bytes) {
        for (sorted, pretty) in [(false, false), (true, false), (false, true)] {
            let text = value.serialized(sortedKeys: sorted, pretty: pretty)
            guard let again = try? JSONValue.parse(text) else { preconditionFailure("serialized value does not parse") }
            if !sorted { precondition(again == value, "serialized value parses to another value") }
        }
    }
    if let request = try? JSON.decode(ControlRequest.self, from: bytes) {
        guard let encoded = try? JSON.encode(request), let decoded = try? JSON.decode(ControlRequest.self, from: encoded)
        else { preconditionFailure("a decoded request does not round-trip") }
        precondition(decoded.documents == request.documents && decoded.op == request.op, "round trip changed it")
        if let documents = request.documents {
            let repository = PolicyRepository()
            if (try? repository.apply(documents: documents, fileName: request.file ?? "fuzz.json")) != nil {
                var allocator = IdentityAllocator()
                _ = repository.compile(endpoints: endpoints, allocator: &allocator).canonicalDump()
            }
        }
    }
    if let file = try? JSON.decode(FQDNCacheFile.self, from: bytes) {
        precondition((try? JSON.decode(FQDNCacheFile.self, from: try JSON.encode(file))) == file, "cache file round trip")
    }
    return 0
}

private let endpoints = [
    EndpointDescriptor(id: 1, namespace: "default", podName: "web", podLabels: ["app": "web"],
                       ipv4: 0x0100_000A, namedPorts: ["http": 80]),
    EndpointDescriptor(id: 2, namespace: "backend", podName: "api", podLabels: ["app": "api"], ipv4: 0x0200_000A),
]

/// The executable's entry (see CFuzzDriver.h): libFuzzer's driver with this target's callback.
@_cdecl("FuzzJSON_main")
public func fuzzJSONMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzJSON(data, size)
    }
}
