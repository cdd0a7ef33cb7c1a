import Foundation
import SluiceAPI
import XCTest

@testable import Sandbox

/// The sandbox's state file: written atomically, read back equal, refused when corrupt, and the
/// file helpers' errors.
final class SandboxManagerStateTests: XCTestCase {
    private func state() throws -> SandboxState {
        try SandboxPlan(topology: Topology(pods: [PodSpec(name: "client")])).initialState()
    }

    func testSaveAndReadStateAtomically() throws {
        let directory = NSTemporaryDirectory() + "sandbox-state-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manager = SandboxManager(stateDirectory: directory)
        XCTAssertNil(try manager.state())
        var state = try state()
        state.agentPID = 99
        try manager.save(state)
        XCTAssertEqual(try manager.state(), state)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/state.json.tmp"))
        let text = try String(contentsOfFile: directory + "/state.json", encoding: .utf8)
        XCTAssertTrue(text.contains("\"agentPID\" : 99"))
    }

    func testCorruptStateIsAnError() throws {
        let directory = NSTemporaryDirectory() + "sandbox-bad-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/state.json", contents: Data("{".utf8)))
        XCTAssertThrowsError(try SandboxManager(stateDirectory: directory).state()) { error in
            XCTAssertTrue("\(error)".contains("unreadable sandbox state"))
        }
    }

    func testFileHelpersNameThePathTheyCouldNotWrite() throws {
        let directory = NSTemporaryDirectory() + "sandbox-files-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let manager = SandboxManager(stateDirectory: directory)
        try manager.createDirectory(directory + "/a/b")
        try manager.writeFile(directory + "/a/b/f", "text")
        XCTAssertEqual(FileManager.default.contents(atPath: directory + "/a/b/f"), Data("text".utf8))
        XCTAssertThrowsError(try manager.writeFile(directory + "/missing/f", "x")) { error in
            XCTAssertTrue("\(error)".contains(directory + "/missing/f"), "\(error)")
        }
        XCTAssertThrowsError(try manager.createDirectory(directory + "/a/b/f/g")) { error in
            XCTAssertTrue("\(error)".contains("cannot create directory"), "\(error)")
        }
    }
}
