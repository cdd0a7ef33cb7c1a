import CLibbpf
import Glibc
import XCTest

@testable import Datapath

/// tc_endpoint.o opened and loaded by BPFObject into a private pin directory (root and bpffs
/// needed; the test fails without them): programs and maps by name, pins reused on a second open,
/// map sizes set before load, errors naming the object.
final class BPFObjectTests: XCTestCase {
    private var pinRoot = ""
    private var objectPath: String { TestDatapath.objectDirectory() + "/" + Datapath.tcObjectName }

    override func setUpWithError() throws {
        pinRoot = "/sys/fs/bpf/sluice-test-object-\(getpid())"
        try BPFFilesystem.ensureMounted()
        try BPFFilesystem.makeDirectories(pinRoot)
    }

    override func tearDown() {
        try? Datapath.unpinAll(pinDirectory: pinRoot)
    }

    private func mapID(_ fd: Int32) throws -> UInt32 {
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        try DatapathError.check(bpf_obj_get_info_by_fd(fd, &info, &length), "bpf_obj_get_info_by_fd")
        return info.id
    }

    /// `bpf_prog_info.verified_insns`: how many instructions the verifier processed to load it.
    private func verifiedInstructions(_ fd: Int32) throws -> UInt32 {
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        try DatapathError.check(bpf_obj_get_info_by_fd(fd, &info, &length), "bpf_obj_get_info_by_fd")
        return info.verified_insns
    }

    /// The verifier's work is paid at every agent start, and the start is the DNS gap across a
    /// restart (integration/scenarios/25, bound 1 s). sluice_tc_endpoint took 564k instructions
    /// with the DNS deny cache's name loops inlined into it (every path reaching them verified
    /// them again: ~0.5 s more start), 137k with them in the global sluice_dns_deny_try; the
    /// other program 57k. The budgets leave room for growth, not for another such multiplication.
    func testTheEndpointProgramsVerifyWithinTheirBudgets() throws {
        let object = try BPFObject(path: objectPath, pinRoot: pinRoot)
        defer { object.close() }
        let endpoint = try verifiedInstructions(try object.programFD(named: Datapath.tcProgramName))
        let toEndpoint = try verifiedInstructions(try object.programFD(named: Datapath.toEndpointProgramName))
        XCTAssertGreaterThan(endpoint, 10_000)
        XCTAssertLessThan(endpoint, 250_000, "sluice_tc_endpoint: \(endpoint) instructions verified")
        XCTAssertGreaterThan(toEndpoint, 10_000)
        XCTAssertLessThan(toEndpoint, 100_000, "sluice_tc_to_endpoint: \(toEndpoint) instructions verified")
    }

    func testProgramsAndMapsByNameAndThePinsTheyLeave() throws {
        let object = try BPFObject(path: objectPath, pinRoot: pinRoot)
        defer { object.close() }
        XCTAssertGreaterThanOrEqual(try object.programFD(named: Datapath.toEndpointProgramName), 0)
        XCTAssertGreaterThanOrEqual(try object.mapFD(named: "sluice_policy"), 0)
        XCTAssertTrue(BPFFilesystem.exists(pinRoot + "/sluice_policy"))
        XCTAssertThrowsError(try object.program(named: "no_such_program")) {
            XCTAssertEqual(
                $0 as? DatapathError,
                DatapathError(
                    call: "bpf_object__find_program_by_name", errno: ENOENT, context: "\(objectPath): no_such_program"))
        }
        XCTAssertThrowsError(try object.mapFD(named: "no_such_map")) {
            XCTAssertEqual(($0 as? DatapathError)?.context, "\(objectPath): no_such_map")
        }
    }

    func testASecondOpenReusesThePinnedMaps() throws {
        let first = try BPFObject(path: objectPath, pinRoot: pinRoot)
        let firstID = try mapID(try first.mapFD(named: "sluice_policy"))
        first.close()
        let second = try BPFObject(path: objectPath, pinRoot: pinRoot)
        defer { second.close() }
        XCTAssertEqual(try mapID(try second.mapFD(named: "sluice_policy")), firstID)
    }

    func testMaxEntriesAreSetBeforeLoadAndUnknownNamesIgnored() throws {
        let object = try BPFObject(
            path: objectPath, pinRoot: pinRoot, maxEntries: ["sluice_policy": 64, "not_a_map": 1])
        defer { object.close() }
        XCTAssertEqual(try DatapathTests.maxEntries(pinRoot + "/sluice_policy"), 64)
    }

    func testClosedAndMissingObjects() throws {
        let object = try BPFObject(path: objectPath, pinRoot: pinRoot)
        object.close()
        object.close()
        XCTAssertThrowsError(try object.mapFD(named: "sluice_policy")) {
            XCTAssertEqual(($0 as? DatapathError)?.errno, EBADF)
        }
        XCTAssertThrowsError(try BPFObject(path: "/nonexistent/tc_endpoint.o", pinRoot: pinRoot)) {
            XCTAssertEqual(($0 as? DatapathError)?.context, "/nonexistent/tc_endpoint.o")
        }
    }
}
