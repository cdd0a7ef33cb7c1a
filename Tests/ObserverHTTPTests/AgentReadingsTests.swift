import Glibc
import XCTest

@testable import ObserverHTTP

final class AgentReadingsTests: XCTestCase {
    func testFindsTheAgentInAProcTreeAndReadsItsResidentSet() throws {
        let root = "/tmp/agent-readings-\(getpid())"
        defer { _ = system("rm -rf " + root) }
        for (pid, comm, statm) in [("7", "bash\n", "1 2 3"), ("42", "sluice-agent\n", "5000 2048 100")] {
            mkdir(root, 0o755)
            mkdir(root + "/" + pid, 0o755)
            for (file, text) in [("comm", comm), ("statm", statm)] {
                let fd = open(root + "/\(pid)/" + file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                _ = text.withCString { write(fd, $0, strlen($0)) }
                close(fd)
            }
        }
        mkdir(root + "/self", 0o755)
        let readings = AgentReadings(controlSocket: root + "/no.sock", procRoot: root)
        XCTAssertEqual(readings.agentPID(), 42)
        readings.refresh(nowNs: 10_000_000_000)
        XCTAssertEqual(readings.residentBytes, 2048 * UInt64(sysconf(Int32(_SC_PAGESIZE))))
        XCTAssertNil(readings.lastApply)  // no agent socket: nothing read, no crash
        XCTAssertEqual(AgentReadings.residentBytes(statm: "10 3 1", pageSize: 4096), 12288)
        XCTAssertNil(AgentReadings.residentBytes(statm: "garbage", pageSize: 4096))
        XCTAssertNil(AgentReadings.readSmallFile(root + "/missing"))
    }
}
