import XCTest

@testable import Sandbox

final class SandboxNamesTests: XCTestCase {
    func testHostInterfaceNamesFitIFNAMSIZ() {
        let long = String(repeating: "a", count: 63)
        for (namespace, pod) in [("default", "client"), (long, long), ("a", "b")] {
            let name = SandboxNames.hostInterfaceName(namespace: namespace, pod: pod)
            XCTAssertLessThanOrEqual(name.utf8.count, SandboxNames.maxInterfaceNameLength)
            XCTAssertTrue(name.hasPrefix("lxc"))
            XCTAssertEqual(name.utf8.count, 11)
        }
        XCTAssertLessThanOrEqual(SandboxNames.nodeInterface.utf8.count, SandboxNames.maxInterfaceNameLength)
        XCTAssertLessThanOrEqual(SandboxNames.worldHostInterface.utf8.count, SandboxNames.maxInterfaceNameLength)
    }

    func testHostInterfaceNamesAreStableAndSalted() {
        let first = SandboxNames.hostInterfaceName(namespace: "backend", pod: "backend")
        XCTAssertEqual(first, SandboxNames.hostInterfaceName(namespace: "backend", pod: "backend"))
        XCTAssertNotEqual(first, SandboxNames.hostInterfaceName(namespace: "backend", pod: "backend", salt: 1))
        XCTAssertNotEqual(first, SandboxNames.hostInterfaceName(namespace: "frontend", pod: "frontend"))
    }

    func testNetnsNames() {
        XCTAssertEqual(SandboxNames.netnsName(namespace: "backend", pod: "backend"), "sluice-backend-backend")
        let long = SandboxNames.netnsName(
            namespace: String(repeating: "n", count: 63),
            pod: String(repeating: "p", count: 63))
        XCTAssertEqual(long.utf8.count, SandboxNames.maxNetnsNameLength)
        XCTAssertTrue(long.hasPrefix("sluice-nnn"))
        let hashed = SandboxNames.netnsName(namespace: "a-b", pod: "c", forceHash: true)
        XCTAssertNotEqual(hashed, SandboxNames.netnsName(namespace: "a", pod: "b-c", forceHash: true))
        XCTAssertTrue(SandboxNames.isSandboxNetns(hashed))
    }

    func testSandboxNetnsRecognition() {
        XCTAssertTrue(SandboxNames.isSandboxNetns("sluice-node"))
        XCTAssertFalse(SandboxNames.isSandboxNetns("sluice-"))
        XCTAssertFalse(SandboxNames.isSandboxNetns("dp-node"))
    }

    /// The names carry 8 hex digits of the 32-bit FNV-1a of `namespace/pod`: the same in every
    /// version, so `down` and a later `up` find what an older build made.
    func testHashedNamesAreFNV1aOfNamespaceAndPod() {
        XCTAssertEqual(SandboxNames.hostInterfaceName(namespace: "backend", pod: "backend"), "lxc30e85d88")
        XCTAssertEqual(SandboxNames.netnsName(namespace: "a-b", pod: "c", forceHash: true), "sluice-a-b-c-508f0545")
    }

    func testNodeNamespacesAndLinks() {
        XCTAssertEqual(SandboxNames.nodeNetns(name: "n1", first: true), "sluice-node")
        XCTAssertEqual(SandboxNames.nodeNetns(name: "n2", first: false), "sluice-node_n2")
        XCTAssertTrue(SandboxNames.isSandboxNetns(SandboxNames.nodeNetns(name: "n2", first: false)))
        let longest = String(repeating: "a", count: SandboxNames.maxNodeNameLength)
        XCTAssertEqual(SandboxNames.nodeLinkInterface(peer: longest).utf8.count, SandboxNames.maxInterfaceNameLength)
        XCTAssertEqual(SandboxNames.nodeLinkInterface(peer: "n1"), "sl-n1")
    }
}
