import Glibc
import SluiceModel
import XCTest

@testable import SluiceIO

/// `EventLoop` stepped by hand on the test thread with a `ManualClock`: timers fire when the
/// clock says so (never before, never from the wall clock), in deadline order; readiness events
/// and tasks from other threads are handled in the iteration that sees them.
final class EventLoopTests: XCTestCase {
    /// Records when each of its timers fired (the loop's `now` at the time).
    final class Recorder: TimerTarget {
        let name: String
        let log: Log
        init(_ name: String, _ log: Log) {
            self.name = name
            self.log = log
        }
        func timerFired(now: UInt64) { log.entries.append("\(name)@\(now)") }
    }

    final class Log { var entries: [String] = [] }

    func testTimersFireAtTheirDeadlineOnTheManualClockAndNotBefore() throws {
        let clock = ManualClock(startNs: 1000)
        let loop = try EventLoop(clock: clock)
        let log = Log()
        let a = Recorder("a", log), b = Recorder("b", log), c = Recorder("c", log)
        let ta = LoopTimer(target: a), tb = LoopTimer(target: b), tc = LoopTimer(target: c)
        loop.schedule(tb, at: 1300)
        loop.schedule(ta, at: 1100)
        loop.schedule(tc, at: 1200)
        XCTAssertEqual(loop.scheduledTimers, 3)

        loop.runOnce(timeoutMs: 0)
        XCTAssertEqual(log.entries, [], "nothing is due at 1000")
        clock.advance(by: 99)
        loop.runDueTimers()
        XCTAssertEqual(log.entries, [], "a is due at 1100, the clock says 1099")
        clock.advance(by: 1)
        loop.runDueTimers()
        XCTAssertEqual(log.entries, ["a@1100"])
        XCTAssertFalse(ta.isScheduled)
        clock.advance(by: 500)
        loop.runOnce(timeoutMs: 0)
        XCTAssertEqual(log.entries, ["a@1100", "c@1600", "b@1600"], "earliest deadline first")
        XCTAssertEqual(loop.scheduledTimers, 0)
        XCTAssertEqual(loop.now, 1600)
    }

    func testCancelAndMoveKeepTheHeapInOrder() throws {
        let clock = ManualClock(startNs: 0)
        let loop = try EventLoop(clock: clock)
        let log = Log()
        let recorders = (0..<8).map { Recorder("t\($0)", log) }
        let timers = recorders.map { LoopTimer(target: $0) }
        for (i, t) in timers.enumerated() { loop.schedule(t, at: UInt64(100 * (8 - i))) }  // t7 earliest
        loop.cancel(timers[7])
        loop.cancel(timers[3])
        loop.cancel(timers[3])  // cancelling twice is harmless
        loop.schedule(timers[0], at: 50)  // moved from 800 to the front
        XCTAssertEqual(loop.scheduledTimers, 6)
        clock.advance(by: 1000)
        loop.runDueTimers()
        XCTAssertEqual(log.entries.map { $0.split(separator: "@")[0] }, ["t0", "t6", "t5", "t4", "t2", "t1"])
    }

    func testATimerScheduledFromACallbackForAPassedDeadlineFiresInTheSameCall() throws {
        final class Rearming: TimerTarget {
            var loop: EventLoop?
            var timer: LoopTimer?
            var fired: [UInt64] = []
            func timerFired(now: UInt64) {
                fired.append(now)
                if fired.count < 3, let loop, let timer { loop.schedule(timer, at: now) }
            }
        }
        let clock = ManualClock(startNs: 10)
        let loop = try EventLoop(clock: clock)
        let target = Rearming()
        let timer = LoopTimer(target: target)
        target.loop = loop
        target.timer = timer
        loop.schedule(timer, at: 20)
        clock.advance(by: 10)
        loop.runDueTimers()
        XCTAssertEqual(target.fired, [20, 20, 20])
        XCTAssertFalse(timer.isScheduled)
    }

    func testOneShotKeepsItsTargetAliveUntilItFires() throws {
        let clock = ManualClock(startNs: 0)
        let loop = try EventLoop(clock: clock)
        let log = Log()
        weak var weakTarget: Recorder?
        do {
            let target = Recorder("once", log)
            weakTarget = target
            loop.schedule(at: 5, target)
        }
        XCTAssertNotNil(weakTarget, "the loop holds a one-shot target")
        clock.advance(by: 5)
        loop.runDueTimers()
        XCTAssertEqual(log.entries, ["once@5"])
        XCTAssertNil(weakTarget, "and lets it go once it fired")
    }

    func testRunOnceHandlesReadinessAndTasksFromOtherThreads() throws {
        /// Level-triggered: reads what is there, so the next iteration has nothing for it.
        final class Reader: EventHandler {
            var fd: Int32 = -1
            var seen: [(UInt32, UInt32)] = []
            func handleEvents(_ events: UInt32, tag: UInt32) {
                seen.append((events, tag))
                var byte: UInt8 = 0
                _ = read(fd, &byte, 1)
            }
        }
        let loop = try EventLoop(clock: ManualClock())
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let reader = Reader()
        reader.fd = fds[0]
        let registration = try loop.register(fd: fds[0], events: EventLoop.Events.readable, handler: reader, tag: 42)
        loop.runOnce(timeoutMs: 0)
        XCTAssertTrue(reader.seen.isEmpty, "nothing to read yet")
        XCTAssertEqual(write(fds[1], "x", 1), 1)
        loop.runOnce(timeoutMs: 1000)
        XCTAssertEqual(reader.seen.count, 1)
        XCTAssertEqual(reader.seen.first?.1, 42)
        XCTAssertNotEqual((reader.seen.first?.0 ?? 0) & EventLoop.Events.readable, 0)

        // A task from another thread wakes a loop that waits without a deadline.
        nonisolated(unsafe) var ran = false
        let thread = WorkerThread(name: "execute-test") { loop.execute { ran = true } }
        try thread.start()
        thread.join()
        loop.runOnce(timeoutMs: 5000)
        XCTAssertTrue(ran)

        XCTAssertEqual(reader.seen.count, 1, "the byte was read: no second event")

        // After deregister, readiness of the descriptor no longer reaches the handler.
        loop.deregister(fd: fds[0], registration: registration)
        XCTAssertEqual(write(fds[1], "y", 1), 1)
        loop.runOnce(timeoutMs: 0)
        XCTAssertEqual(reader.seen.count, 1)
    }

    func testAHandlerThatEndsItsRegistrationInItsEventLivesUntilTheWakeUpsEventsAreHandled() throws {
        /// Owned by the loop alone. Its event ends its registration (deregister, forget or
        /// reassign to `next`), then writes to its own state: the loop borrows a handler for the
        /// call instead of retaining it, so it must keep one whose registration ended until the
        /// wake-up is over, then let it go.
        final class Closer: EventHandler {
            enum End { case deregister, forget, reassign }
            unowned let loop: EventLoop
            let log: Log
            let end: End
            let next: EventHandler
            var fd: Int32 = -1
            var registration = EventLoop.Registration.none
            var events = 0
            init(loop: EventLoop, log: Log, end: End, next: EventHandler) {
                (self.loop, self.log, self.end, self.next) = (loop, log, end, next)
            }
            func handleEvents(_ events: UInt32, tag: UInt32) {
                var byte: UInt8 = 0
                _ = read(fd, &byte, 1)
                switch end {
                case .deregister: loop.deregister(fd: fd, registration: registration)
                case .forget: loop.forget(registration)
                case .reassign: loop.reassign(registration, to: next, tag: 7)
                }
                self.events += 1
                log.entries.append("closed \(self.events)")
            }
            deinit { log.entries.append("deinit") }
        }
        final class Next: EventHandler {
            let log: Log
            init(log: Log) { self.log = log }
            func handleEvents(_ events: UInt32, tag: UInt32) { log.entries.append("next \(tag)") }
        }
        for end in [Closer.End.deregister, .forget, .reassign] {
            let loop = try EventLoop(clock: ManualClock())
            let log = Log()
            var fds: [Int32] = [0, 0]
            XCTAssertEqual(pipe(&fds), 0)
            defer { close(fds[1]) }
            weak var weakCloser: Closer?
            do {
                let closer = Closer(loop: loop, log: log, end: end, next: Next(log: log))
                closer.fd = fds[0]
                closer.registration = try loop.register(
                    fd: fds[0], events: EventLoop.Events.readable, handler: closer, tag: 1)
                weakCloser = closer
            }
            XCTAssertNotNil(weakCloser, "\(end): the loop owns the handler")
            XCTAssertEqual(write(fds[1], "x", 1), 1)
            loop.runOnce(timeoutMs: 1000)
            XCTAssertEqual(log.entries, ["closed 1", "deinit"], "\(end): freed after its event, not during it")
            XCTAssertNil(weakCloser, "\(end)")
            close(fds[0])
        }
    }

    func testWakeUpEndRunsOnceAfterTheRoundsEventsAndBeforeOtherWork() throws {
        /// Reads its pipe's byte and asks, once per round, to be told when the round ends.
        final class Gatherer: EventHandler, WakeUpEndTarget, TimerTarget {
            unowned let loop: EventLoop
            let log: Log
            var names: [Int32: String] = [:]
            var asked = false
            init(loop: EventLoop, log: Log) {
                self.loop = loop
                self.log = log
            }
            func handleEvents(_ events: UInt32, tag: UInt32) {
                var byte: UInt8 = 0
                _ = read(Int32(tag), &byte, 1)
                log.entries.append("event \(names[Int32(tag)] ?? "?")")
                if !asked {
                    asked = loop.deferToWakeUpEnd(self)
                    XCTAssertTrue(asked, "asked while the loop handles events")
                }
            }
            func wakeUpEnded() {
                asked = false
                log.entries.append("end")
            }
            func timerFired(now: UInt64) { log.entries.append("timer") }
        }
        /// A handler of another kind (an HTTP connection's): never part of the round.
        final class Other: EventHandler {
            let log: Log
            var fd: Int32 = -1
            init(log: Log) { self.log = log }
            func handleEvents(_ events: UInt32, tag: UInt32) {
                var byte: UInt8 = 0
                _ = read(fd, &byte, 1)
                log.entries.append("event c")
            }
        }
        let clock = ManualClock(startNs: 0)
        let loop = try EventLoop(clock: clock)
        let log = Log()
        let gatherer = Gatherer(loop: loop, log: log)
        let other = Other(log: log)
        var a: [Int32] = [0, 0], b: [Int32] = [0, 0], c: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&a), 0)
        XCTAssertEqual(pipe(&b), 0)
        XCTAssertEqual(pipe(&c), 0)
        defer { for fd in a + b + c { close(fd) } }
        gatherer.names = [a[0]: "a", b[0]: "b"]
        other.fd = c[0]
        for fd in [a[0], b[0]] {
            _ = try loop.register(
                fd: fd, events: EventLoop.Events.readable, handler: gatherer, tag: UInt32(fd), joinsWakeUpRound: true)
        }
        _ = try loop.register(fd: c[0], events: EventLoop.Events.readable, handler: other, tag: 0)
        let timer = LoopTimer(target: gatherer)
        loop.schedule(timer, at: 0)

        XCTAssertFalse(loop.deferToWakeUpEnd(gatherer), "outside event handling the caller finishes itself")
        XCTAssertEqual(write(a[1], "x", 1), 1)
        XCTAssertEqual(write(b[1], "y", 1), 1)
        loop.runOnce(timeoutMs: 1000)
        XCTAssertEqual(log.entries.count, 4)
        XCTAssertEqual(Set(log.entries.prefix(2)), ["event a", "event b"], "both events in one wake-up")
        XCTAssertEqual(Array(log.entries.suffix(2)), ["end", "timer"], "one end, after the events, before the timers")

        log.entries = []
        loop.runOnce(timeoutMs: 0)
        XCTAssertEqual(log.entries, [], "a wake-up without events ends nothing")

        // An event of another kind ends the open round before it is handled; a round the other
        // kind's event precedes ends with the wake-up.
        XCTAssertEqual(write(a[1], "z", 1), 1)
        XCTAssertEqual(write(c[1], "w", 1), 1)
        loop.runOnce(timeoutMs: 1000)
        XCTAssertTrue(
            log.entries == ["event a", "end", "event c"] || log.entries == ["event c", "event a", "end"],
            "\(log.entries)")

        // A task from another thread ends the open round too.
        log.entries = []
        XCTAssertEqual(write(b[1], "v", 1), 1)
        loop.execute { log.entries.append("task") }
        loop.runOnce(timeoutMs: 1000)
        XCTAssertTrue(
            log.entries == ["event b", "end", "task"] || log.entries == ["task", "event b", "end"],
            "\(log.entries)")
    }

    func testGatheringWaitsOutTheWindowOnlyForFrequentDatagramsAndNeverPastATimer() throws {
        /// Reads its pipe; as a datagram handler it reports `datagrams` per event; each event
        /// takes `busyNs` of the clock.
        final class Handler: EventHandler {
            let loop: EventLoop
            let clock: ManualClock
            var fd: Int32 = -1
            var datagrams: Int?
            var busyNs: UInt64 = 0
            init(_ loop: EventLoop, _ clock: ManualClock) {
                self.loop = loop
                self.clock = clock
            }
            func handleEvents(_ events: UInt32, tag: UInt32) {
                var byte: UInt8 = 0
                _ = read(fd, &byte, 1)
                if let datagrams { loop.noteDatagrams(datagrams) }
                clock.advance(by: busyNs)
            }
        }
        let clock = ManualClock(startNs: 0)
        let loop = try EventLoop(clock: clock)
        loop.gatherWindowNs = 250_000
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let handler = Handler(loop, clock)
        handler.fd = fds[0]
        _ = try loop.register(fd: fds[0], events: EventLoop.Events.readable, handler: handler, tag: 1)
        func event(after ns: UInt64, datagrams: Int?) {
            clock.advance(by: ns)
            handler.datagrams = datagrams
            XCTAssertEqual(write(fds[1], "x", 1), 1)
            loop.runOnce(timeoutMs: 0)
        }

        // 10 datagrams in the first 10 ms: 1,000/s, 0.25 per window: no gathering.
        event(after: 1_000_000, datagrams: 5)
        event(after: 9_000_000, datagrams: 5)
        XCTAssertEqual(loop.datagramRate, 1_000)
        XCTAssertNil(loop.gatherDeadline(at: clock.nowNs()))

        // 100 in the next 10 ms: 10,000/s, 2.5 per window: the loop sleeps out the window.
        event(after: 5_000_000, datagrams: 50)
        event(after: 5_000_000, datagrams: 50)
        XCTAssertEqual(loop.datagramRate, 10_000)
        let woke = clock.nowNs()
        XCTAssertEqual(loop.gatherDeadline(at: woke + 50_000), woke + 250_000)
        XCTAssertNil(loop.gatherDeadline(at: woke + 250_000), "the window has passed: wait at once")

        // Never past the earliest timer.
        let recorder = Recorder("t", Log())
        let timer = LoopTimer(target: recorder)
        loop.schedule(timer, at: woke + 100_000)
        XCTAssertEqual(loop.gatherDeadline(at: woke + 50_000), woke + 100_000)
        loop.cancel(timer)

        // A wake-up that handled anything but datagrams (here: a handler that reports none, as
        // an HTTP connection) waits at once, and so does the loop through the next rate window.
        event(after: 10_000, datagrams: nil)
        XCTAssertNil(loop.gatherDeadline(at: clock.nowNs()))
        event(after: 10_000, datagrams: 1)
        XCTAssertNotNil(loop.gatherDeadline(at: clock.nowNs()), "the last window had datagrams only")

        // 1,000 in 10 ms: 100,000/s, 25 per window: batches fill by themselves, no gathering.
        event(after: 5_000_000, datagrams: 500)
        event(after: 5_000_000, datagrams: 500)
        XCTAssertEqual(loop.datagramRate, 99_900, "1,001 (the one above too) in 10.02 ms")
        XCTAssertFalse(loop.lastRateWindowDatagramsOnly, "that window had the connection's event")
        XCTAssertNil(loop.gatherDeadline(at: clock.nowNs()))
        event(after: 5_000_000, datagrams: 320)
        event(after: 5_000_000, datagrams: 320)
        XCTAssertEqual(loop.datagramRate, 64_000)
        XCTAssertNil(loop.gatherDeadline(at: clock.nowNs()), "16 per window: a saturation regime")
        event(after: 5_000_000, datagrams: 160)
        event(after: 5_000_000, datagrams: 160)
        XCTAssertEqual(loop.datagramRate, 32_000)
        XCTAssertNotNil(loop.gatherDeadline(at: clock.nowNs()), "8 per window: still gathered")
        event(after: 5_000_000, datagrams: 30)
        event(after: 5_000_000, datagrams: 30)
        XCTAssertEqual(loop.datagramRate, 6_000)
        XCTAssertNil(loop.gatherDeadline(at: clock.nowNs()), "1.5 per window: not worth a sleep")

        // 20,000/s (5 per window), but the loop handled events for 9 of the 12 ms: busy near
        // saturation, no gathering (the sleep would cost throughput).
        handler.busyNs = 3_000_000
        event(after: 2_000_000, datagrams: 80)
        event(after: 2_000_000, datagrams: 80)
        event(after: 2_000_000, datagrams: 80)
        XCTAssertEqual(loop.datagramRate, 20_000)
        XCTAssertEqual(loop.busyPerMille, 750)
        XCTAssertTrue(loop.lastRateWindowDatagramsOnly)
        XCTAssertNil(loop.gatherDeadline(at: clock.nowNs()))
        // The same rate with an idle loop gathers.
        handler.busyNs = 0
        event(after: 3_000_000, datagrams: 120)  // the window began before the last 3 ms of work
        event(after: 6_000_000, datagrams: 120)
        XCTAssertEqual(loop.datagramRate, 20_000)
        XCTAssertEqual(loop.busyPerMille, 0)
        XCTAssertNotNil(loop.gatherDeadline(at: clock.nowNs()))

        // Off: never.
        loop.gatherWindowNs = 0
        XCTAssertNil(loop.gatherDeadline(at: clock.nowNs()))
    }

    func testMonotonicAndManualWaitTimeouts() {
        let monotonic = SystemClock(.monotonic)
        let now = monotonic.nowNs()
        XCTAssertEqual(EventLoop.waitMs(on: monotonic, until: now - 1), 0, "a passed deadline does not wait")
        let waited = EventLoop.waitMs(on: monotonic, until: monotonic.nowNs() + 5_000_000)
        XCTAssertTrue((1...6).contains(waited), "5 ms ahead waits about 5 ms, got \(waited)")
        XCTAssertEqual(EventLoop.waitMs(on: monotonic, until: monotonic.nowNs() + 60_000_000_000), 1000, "at most 1 s")
        let clock = ManualClock(startNs: 100)
        XCTAssertEqual(
            EventLoop.waitMs(on: clock, until: 200), -1, "manual time moves only by advance: wait for events")
        clock.advance(by: 100)
        XCTAssertEqual(EventLoop.waitMs(on: clock, until: 200), 0)
    }
}
