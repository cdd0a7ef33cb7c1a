import DNS
import Flows
import Foundation
import Glibc
import Proxy
import SluiceAPI
import SluiceIO
import SluiceJSON
import SluiceModel
import XCTest

@testable import Agent
@testable import Sandbox

/// The state files one program writes and another reads, each through the writer and the
/// reader production uses (endpoints.json is in FlowsTests): the sandbox's state.json
/// (`SandboxState`, SluiceAPI) is written by the CLI with Foundation's JSONEncoder and read by the
/// agent with SluiceJSON; fqdn.json is
/// written by the agent's FQDNCache and read back by the agent at start and by `sluice observe`.
final class StateFileCodecTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/sluice-state-XXXXXX".utf8CString)
        directory = String(cString: try XCTUnwrap(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }))
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The docs sandbox (proxy-config/sandbox/docs.yaml: named ports, namespace labels, world hosts
    /// with the API server) with what `sandbox up` adds later, plus labels each codec escapes
    /// differently.
    private func docsState() throws -> SandboxState {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("proxy-config/sandbox/docs.yaml").path
        var state = try SandboxPlan(topology: try Topology.load(path: path)).initialState()
        for i in state.endpoints.indices { state.endpoints[i].hostIfIndex = 100 + i }
        state.endpoints[0].podLabels["odd"] = "a/b é \"q\" \\ 😀"
        state.endpoints[0].namespaceLabels["kubernetes.io/metadata.name"] = state.endpoints[0].namespace
        state.agentPID = 4242
        state.servers = [
            .init(owner: "default/web", kind: "http-static", port: 80, pid: 77, logPath: "/l/w.log", marker: "m")
        ]
        return state
    }

    func testSandboxStateWrittenByTheCLIIsReadByTheAgent() throws {
        let state = try docsState()
        XCTAssertGreaterThan(state.endpoints.count, 10)
        XCTAssertTrue(state.world.contains { $0.kubeAPIServer == true }, "the fixture has an API server")
        try SandboxManager(stateDirectory: directory).save(state)
        let path = directory + "/state.json"
        let read = try JSON.decode(SandboxState.self, from: try Files.read(path))
        XCTAssertEqual(read, state, "SluiceJSON reads back every field Foundation's encoder wrote")
        XCTAssertTrue(state.endpoints.contains { !$0.namedPorts.isEmpty }, "the fixture has named ports")
        // The agent's other reader of the same file: the node's own address.
        let agent = Agent(
            options: Agent.Options(
                netns: nil, endpointsFile: path, stateDirectory: directory,
                controlSocket: directory + "/s", bpfObjectDirectory: directory,
                pinDirectory: directory, nodeName: "n", proxy: ProxyConfig(workers: 1)))
        try agent.loadEndpoints()
        XCTAssertEqual(agent.policy.hostIPv4, [UInt32(bigEndian: 0x0AF4_0001)], "10.244.0.1")
    }

    func testFQDNCacheFileWrittenByTheAgentIsReadAtStartAndByObserve() throws {
        let writer = FQDNCache()
        let now: UInt64 = 1_767_225_600_000_000_000
        _ = writer.update(
            name: "api.example.com.", ips: [.v4(IPv4Address(192, 0, 2, 10)), .v4(IPv4Address(192, 0, 2, 11))],
            ttl: 300, nowNs: now)
        _ = writer.update(name: "*weird\\\"name/é.", ips: [.v4(IPv4Address(198, 51, 100, 7))], ttl: 30, nowNs: now)
        let bytes = try writer.encoded()
        try Files.writeAtomically(directory + "/fqdn.json", bytes)

        let reader = FQDNCache()
        XCTAssertEqual(try reader.load(try Files.read(directory + "/fqdn.json")), 3, "addresses loaded at start")
        XCTAssertEqual(
            Set(reader.entries(of: "api.example.com.").keys),
            [.v4(IPv4Address(192, 0, 2, 10)), .v4(IPv4Address(192, 0, 2, 11))])
        XCTAssertEqual(try reader.encoded(), bytes, "read back and written again: the same file")

        let names = try XCTUnwrap(EndpointDirectory.namesFromFQDNCache(json: bytes), "observe reads it")
        XCTAssertEqual(names[UInt32(bigEndian: 0xC000_020A)], ["api.example.com"])
        XCTAssertEqual(names[UInt32(bigEndian: 0xC633_6407)], ["*weird\\\"name/é"])
    }
}
