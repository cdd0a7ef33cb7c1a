import Glibc
import SluiceIO
import SluiceModel
import XCTest

/// `SystemClock`, the one real implementation of `Clock`: each source reads its kernel clock, the
/// instance and the static readings agree, and it moves by itself (so a loop on it waits for
/// deadlines).
final class SystemClockTests: XCTestCase {
    func testEachSourceReadsItsKernelClock() {
        var ts = timespec()
        for (source, id) in [
            (SystemClock.Source.monotonic, CLOCK_MONOTONIC), (.coarseMonotonic, CLOCK_MONOTONIC_COARSE),
            (.realtime, CLOCK_REALTIME),
        ] {
            clock_gettime(id, &ts)
            let kernel = UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
            let read = SystemClock(source).nowNs()
            // Within 50 ms: the coarse clock lags by up to a tick, and the test may be descheduled.
            XCTAssertLessThan(read > kernel ? read - kernel : kernel - read, 50_000_000, "\(source)")
        }
        XCTAssertTrue(SystemClock().movesByItself)
        XCTAssertEqual(SystemClock().source, .monotonic, "the default is the clock of bpf_ktime_get_ns")
    }

    func testTheMonotonicClockMovesForwardAndTheStaticReadingsAgree() {
        let clock: any Clock = SystemClock(.monotonic)
        let first = clock.nowNs()
        usleep(2000)
        let second = SystemClock.monotonicNs()
        XCTAssertGreaterThanOrEqual(second - first, 2_000_000)
        XCTAssertLessThan(SystemClock.coarseMonotonicNs(), SystemClock.monotonicNs() + 1)
        XCTAssertGreaterThan(SystemClock.realtimeNs(), 1_700_000_000 * 1_000_000_000, "after 2023")
    }

    func testHTTPDateIsTheIMFFixdate() {
        var out = [CChar](repeating: 0, count: 30)
        SystemClock.httpDate(unixSeconds: 784_111_777, into: &out)
        XCTAssertEqual(String(cString: out), "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}
