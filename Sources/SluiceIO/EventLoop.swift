internal import CSluice
import Glibc
import SluiceModel
import SluiceSync

/// Receives readiness events for the descriptors it registered.
/// Called only on the loop's own thread.
public protocol EventHandler: AnyObject {
    /// `events` are EPOLL* bits (see `EventLoop.Events`); `tag` is the value given at registration
    /// (a connection uses it to tell its downstream from its upstream descriptor).
    func handleEvents(_ events: UInt32, tag: UInt32)
}

extension EventHandler {
    /// Calls `handleEvents` on the handler at `object` (of this type) without retaining it: the
    /// loop's slot owns it, and a handler whose registration ends during the call is kept until
    /// the wake-up's events are handled (`EventLoop.retired`). Two events per keep-alive request
    /// each retained and released their handler before (docs/performance.md, s22-own).
    fileprivate static func dispatch(_ object: UnsafeMutableRawPointer, _ events: UInt32, tag: UInt32) {
        Unmanaged<Self>.fromOpaque(object)._withUnsafeGuaranteedRef { $0.handleEvents(events, tag: tag) }
    }
}

/// Called once the loop has handled every event of the wake-up in which it asked
/// (`EventLoop.deferToWakeUpEnd`): a handler that sends what several events of one wake-up
/// produced gathers it until then and sends it together.
public protocol WakeUpEndTarget: AnyObject {
    func wakeUpEnded()
}

/// Receives deadline callbacks from a `LoopTimer`.
public protocol TimerTarget: AnyObject {
    /// Called once the timer's deadline (monotonic ns) has passed.
    func timerFired(now: UInt64)
}

/// One deadline of one target, kept in its loop's heap while scheduled. The target owns the
/// timer and must `cancel` it before it goes away (the timer does not retain the target, so a
/// closed connection is freed at once instead of living in the heap until its deadline).
public final class LoopTimer {
    unowned let target: TimerTarget
    fileprivate(set) public var deadline: UInt64 = 0
    /// Position in the heap; -1 when not scheduled.
    fileprivate var index = -1
    /// Set only for one-shot timers, whose holder nothing else retains.
    fileprivate var keepAlive: AnyObject?

    public init(target: TimerTarget) { self.target = target }

    /// Whether the timer is in its loop's heap.
    public var isScheduled: Bool { index >= 0 }
}

/// One epoll loop on one thread: owns the registrations, a wakeup eventfd, a task queue for other
/// threads, and a deadline heap. Everything but `execute(_:)` must be called on the loop thread.
public final class EventLoop {
    /// epoll event bits.
    public enum Events {
        public static let readable = UInt32(CSluice_EPOLLIN)
        public static let writable = UInt32(CSluice_EPOLLOUT)
        public static let error = UInt32(CSluice_EPOLLERR)
        public static let hangup = UInt32(CSluice_EPOLLHUP)
        public static let readHangup = UInt32(CSluice_EPOLLRDHUP)
        public static let edgeTriggered = CSluice_EPOLLET_BIT
    }

    /// Identifies a registration: slot in the table plus a generation, so an event for a slot that
    /// was freed and reused is recognised and dropped.
    public struct Registration: Equatable {
        fileprivate let slot: UInt32
        fileprivate let generation: UInt32
        fileprivate var userData: UInt64 { UInt64(slot) << 32 | UInt64(generation) }
        public static let none = Registration(slot: UInt32.max, generation: 0)
    }

    private struct Slot {
        /// Owns the handler (retained from `register` until its registration ends).
        var handler: EventHandler?
        /// The same handler as its object and dynamic type, which the dispatch calls through
        /// (`EventHandler.dispatch`): that borrows the handler, where a call on `handler` retains
        /// and releases it around every event (the call could end the registration).
        var object: UnsafeMutableRawPointer?
        var type: EventHandler.Type?
        var tag: UInt32
        var generation: UInt32
        /// Its events may be handled while a wake-up's round is open (`deferToWakeUpEnd`).
        var joinsWakeUpRound = false
    }

    private let epfd: Int32
    private let wakeFD: Int32
    private var slots: [Slot] = []
    private var freeSlots: [UInt32] = []
    private var heap: [LoopTimer] = []
    private var events: UnsafeMutablePointer<CSluice_epoll_event>
    private let maxEvents = 256
    private var stopped = false

    /// Targets to call when the events of the current wake-up are handled.
    private var wakeUpEndTargets: [WakeUpEndTarget] = []
    private var wakeUpEndDrain: [WakeUpEndTarget] = []
    /// `runOnce` is handling the events of a wake-up.
    private var handlingEvents = false
    /// Handlers whose registration ended while the events of a wake-up were handled: the dispatch
    /// borrows a handler instead of retaining it, and a handler may end its own registration (a
    /// connection that closes), so the loop keeps them until every event of the wake-up is handled.
    private var retired: [EventHandler] = []

    private let queueLock = Lock()
    private var queue: [() -> Void] = []
    private var queueDrain: [() -> Void] = []

    /// Time (ns, on `clock`) taken once per loop iteration.
    public private(set) var now: UInt64 = 0

    /// Gathering (0: off). While the loop's wake-ups handle datagrams only (handlers that call
    /// `noteDatagrams`), they arrive often enough that `gatherMinDatagrams` to
    /// `gatherMaxDatagrams` are expected per window, and the loop is idle most of the time
    /// (`gatherMaxBusyPerMille`), `run()` does not wait for the next event before `gatherWindowNs`
    /// has passed since the last wake-up: it sleeps until then (never past a timer's deadline),
    /// so what arrived meanwhile is read and sent in one round, with one wake-up, instead of one
    /// wake-up each. Costs each gathered event up to the window in latency; a loop whose events
    /// come seldom, that handled anything else in its last wake-up or its last rate window, or
    /// that is busy (near saturation, where a sleep would only cost throughput), waits as before.
    public var gatherWindowNs: UInt64 = 0
    /// Datagrams expected per window before the loop gathers, and past which it does not: with
    /// more per window the rounds fill well enough by themselves, and the window's latency would
    /// cut the throughput of clients that keep a fixed number of queries in flight when something
    /// else than the proxy limits them (dnsperf's allowed set lost 30 % without a bound; its
    /// mixed set, 54,000 datagrams/s on a loaded machine with the loop 15 % busy, 16 % with 16).
    public static let gatherMinDatagrams: UInt64 = 2
    public static let gatherMaxDatagrams: UInt64 = 8
    /// Gathering stops while the loop spends this share (per mille) of a rate window handling
    /// events: near saturation each sleep is time the loop could have worked (dnsperf's allowed
    /// set lost 16 % of its throughput when a loaded run's rate fell into the band), and its
    /// rounds fill by themselves anyway.
    public static let gatherMaxBusyPerMille: UInt64 = 500
    /// The sleep's timer slack (ns) while gathering: the default 50 µs would add up to that to
    /// every gathered datagram's wait.
    static let gatherTimerSlackNs: UInt = 1_000
    private var timerSlackSet = false
    /// The datagram rate is measured over windows of this length.
    static let rateWindowNs: UInt64 = 10_000_000
    private var rateWindowStart: UInt64 = 0
    private var rateWindowDatagrams: UInt64 = 0
    /// Time spent handling events and timers in the current rate window (gathering only).
    private var rateWindowBusyNs: UInt64 = 0
    /// An iteration of the current rate window handled something other than datagrams.
    private var rateWindowHadOtherEvents = false
    /// Datagrams per second over the last rate window.
    public private(set) var datagramRate: UInt64 = 0
    /// Share of the last rate window spent handling events and timers, per mille.
    public private(set) var busyPerMille: UInt64 = 0
    /// The last rate window's wake-ups handled datagrams only (no connection, no task).
    public private(set) var lastRateWindowDatagramsOnly = false
    /// The last iteration handled events, all from handlers that called `noteDatagrams`.
    private var lastIterationGatherable = false
    private var handlerNotedDatagrams = false
    /// When the last `epoll_wait` returned (on `clock`).
    private var wokeAt: UInt64 = 0
    /// Sleeps taken to gather (tests and diagnostics).
    public private(set) var gatherSleeps = 0
    /// `clock` is CLOCK_MONOTONIC, which the gathering sleep uses.
    private let clockIsMonotonic: Bool
    /// Where `now` comes from: the monotonic clock (the clock of `bpf_ktime_get_ns`) in the
    /// agent; a test's `ManualClock`, moved by the test, so timers are tested without waiting.
    public let clock: any Clock

    public init(clock: any Clock = SystemClock(.monotonic)) throws(SyscallError) {
        self.clock = clock
        clockIsMonotonic = (clock as? SystemClock)?.source == .monotonic
        epfd = CSluice_epoll_create()
        if epfd < 0 { throw SyscallError("epoll_create1", errno: Glibc.errno) }
        wakeFD = CSluice_eventfd()
        if wakeFD < 0 { throw SyscallError("eventfd", errno: Glibc.errno) }
        events = .allocate(capacity: maxEvents)
        if CSluice_epoll_ctl(epfd, CSluice_EPOLL_CTL_ADD, wakeFD, Events.readable, UInt64.max) < 0 {
            throw SyscallError("epoll_ctl(eventfd)", errno: Glibc.errno)
        }
        now = clock.nowNs()
    }

    deinit {
        events.deallocate()
        Glibc.close(epfd)
        Glibc.close(wakeFD)
    }

    /// Adds `fd` with `events`; `handler` is retained until `deregister`. `joinsWakeUpRound`: its
    /// events are handled inside a round a handler opened (`deferToWakeUpEnd`); the events of
    /// every other registration (and tasks from other threads) end the open round first.
    public func register(
        fd: Int32, events: UInt32, handler: EventHandler, tag: UInt32, joinsWakeUpRound: Bool = false
    ) throws(SyscallError) -> Registration {
        let slot: UInt32
        if let s = freeSlots.popLast() {
            slot = s
        } else {
            slot = UInt32(slots.count)
            slots.append(Slot(handler: nil, tag: 0, generation: 0))
        }
        let generation = slots[Int(slot)].generation &+ 1
        slots[Int(slot)] = Slot(
            handler: handler, object: Unmanaged<AnyObject>.passUnretained(handler).toOpaque(),
            type: type(of: handler), tag: tag, generation: generation, joinsWakeUpRound: joinsWakeUpRound)
        let reg = Registration(slot: slot, generation: generation)
        if CSluice_epoll_ctl(epfd, CSluice_EPOLL_CTL_ADD, fd, events, reg.userData) < 0 {
            let e = Glibc.errno
            drop(Int(slot))
            freeSlots.append(slot)
            throw SyscallError("epoll_ctl(ADD)", errno: e)
        }
        return reg
    }

    /// Changes the interest set of a registered descriptor.
    public func modify(fd: Int32, registration: Registration, events: UInt32) throws(SyscallError) {
        if CSluice_epoll_ctl(epfd, CSluice_EPOLL_CTL_MOD, fd, events, registration.userData) < 0 {
            throw SyscallError("epoll_ctl(MOD)", errno: Glibc.errno)
        }
    }

    /// Removes `fd` (call before closing it) and releases the handler.
    public func deregister(fd: Int32, registration: Registration) {
        guard registration != .none, Int(registration.slot) < slots.count,
            slots[Int(registration.slot)].generation == registration.generation
        else { return }
        _ = CSluice_epoll_ctl(epfd, CSluice_EPOLL_CTL_DEL, fd, 0, 0)
        drop(Int(registration.slot))
        freeSlots.append(registration.slot)
    }

    /// Empties `slot`. Its handler is released at once, or, while the events of a wake-up are
    /// handled, once they all are (`retired`): it may be the handler being called.
    private func drop(_ slot: Int) {
        if handlingEvents, let handler = slots[slot].handler { retired.append(handler) }
        slots[slot].handler = nil
        slots[slot].object = nil
        slots[slot].type = nil
    }

    /// Hands a registered descriptor to another handler (and tag) without a syscall: the epoll
    /// entry and its interest set stay; events still queued in this iteration go to the new
    /// handler. Returns false when `registration` is stale.
    @discardableResult
    public func reassign(_ registration: Registration, to handler: EventHandler, tag: UInt32) -> Bool {
        guard registration != .none, Int(registration.slot) < slots.count,
            slots[Int(registration.slot)].generation == registration.generation
        else { return false }
        drop(Int(registration.slot))
        slots[Int(registration.slot)].handler = handler
        slots[Int(registration.slot)].object = Unmanaged<AnyObject>.passUnretained(handler).toOpaque()
        slots[Int(registration.slot)].type = type(of: handler)
        slots[Int(registration.slot)].tag = tag
        return true
    }

    /// Releases a registration whose descriptor the caller closes right after (closing the last
    /// reference removes it from epoll, so no `EPOLL_CTL_DEL` is spent). Only for descriptors
    /// never duplicated.
    public func forget(_ registration: Registration) {
        guard registration != .none, Int(registration.slot) < slots.count,
            slots[Int(registration.slot)].generation == registration.generation
        else { return }
        drop(Int(registration.slot))
        slots[Int(registration.slot)].generation &+= 1
        freeSlots.append(registration.slot)
    }

    /// Schedules `timer` at `deadline` (monotonic ns), moving it if it is already scheduled.
    public func schedule(_ timer: LoopTimer, at deadline: UInt64) {
        timer.deadline = deadline
        if timer.index < 0 {
            timer.index = heap.count
            heap.append(timer)
            siftUp(timer.index)
        } else {
            siftUp(timer.index)
            siftDown(timer.index)
        }
    }

    /// Removes `timer` from the heap if it is scheduled.
    public func cancel(_ timer: LoopTimer) {
        let i = timer.index
        guard i >= 0, i < heap.count, heap[i] === timer else { return }
        let last = heap.count - 1
        if i != last {
            heap.swapAt(i, last)
            heap[i].index = i
        }
        heap.removeLast()
        timer.index = -1
        if i < heap.count {
            siftUp(i)
            siftDown(i)
        }
    }

    private func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[parent].deadline <= heap[i].deadline { break }
            heap.swapAt(parent, i)
            heap[parent].index = parent
            heap[i].index = i
            i = parent
        }
    }

    private func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && heap[l].deadline < heap[m].deadline { m = l }
            if r < heap.count && heap[r].deadline < heap[m].deadline { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            heap[i].index = i
            heap[m].index = m
            i = m
        }
    }

    /// One-shot deadline that keeps `target` alive until it fires. Prefer an owned `LoopTimer`
    /// for anything per connection: this form cannot be cancelled.
    public func schedule(at deadline: UInt64, _ target: TimerTarget) {
        let holder = OneShot(target)
        let timer = LoopTimer(target: holder)
        timer.keepAlive = holder
        schedule(timer, at: deadline)
    }

    private final class OneShot: TimerTarget {
        let target: TimerTarget
        init(_ target: TimerTarget) { self.target = target }
        func timerFired(now: UInt64) { target.timerFired(now: now) }
    }

    /// Number of scheduled timers (for tests and stats).
    public var scheduledTimers: Int { heap.count }

    /// The earliest scheduled deadline, if any (for tests: with a `ManualClock` it is exactly
    /// the time a connection armed plus its timeout).
    public var nextDeadline: UInt64? { heap.first?.deadline }

    /// Asks for `target.wakeUpEnded()` once every event of the wake-up being handled is handled
    /// (before the timers run), or, sooner, before the loop handles an event of a registration
    /// that does not join wake-up rounds or a task from another thread (so what a round gathers
    /// never waits for other handlers' work); targets are called in the order asked. Returns
    /// false, and asks nothing, when the loop is not handling events (a handler called directly,
    /// e.g. by a test): the caller then finishes at once.
    public func deferToWakeUpEnd(_ target: WakeUpEndTarget) -> Bool {
        guard handlingEvents else { return false }
        wakeUpEndTargets.append(target)
        return true
    }

    /// Runs `task` on the loop thread soon. Safe from any thread.
    public func execute(_ task: @escaping () -> Void) {
        queueLock.withLock { queue.append(task) }
        _ = CSluice_eventfd_signal(wakeFD)
    }

    /// Makes `run()` return after the current iteration. Safe from any thread.
    public func stop() {
        execute { [unowned self] in self.stopped = true }
    }

    /// The `epoll_wait` timeout (ms) for the earliest deadline: 0 when it has passed. A clock that
    /// moves by itself: until the deadline, at most 1 s. A `ManualClock`: -1 (wait for events
    /// only): time moves only when the test advances it, and the test then fires the timers itself
    /// (`runDueTimers()`).
    static func waitMs(on clock: any Clock, until deadline: UInt64) -> Int32 {
        waitMs(now: clock.nowNs(), until: deadline, movesByItself: clock.movesByItself)
    }

    /// `waitMs(on:until:)` at `now` on a clock that moves by itself or not.
    static func waitMs(now: UInt64, until deadline: UInt64, movesByItself: Bool) -> Int32 {
        if deadline <= now { return 0 }
        guard movesByItself else { return -1 }
        return Int32(min((deadline - now) / 1_000_000 + 1, 1000))
    }

    /// Runs until `stop()`.
    public func run() {
        while !stopped {
            runOnce(timeoutMs: waitMs())
            if gatherWindowNs > 0 { gather() }
        }
    }

    /// `waitMs(on:until:)` for the earliest deadline, -1 without one. The heap's first deadline is
    /// read in place (`heap.first` retained and released the timer every iteration), the agent's
    /// monotonic clock directly (not through the existential).
    private func waitMs() -> Int32 {
        guard !heap.isEmpty else { return -1 }
        let deadline = heap[0].deadline
        guard clockIsMonotonic else { return Self.waitMs(on: clock, until: deadline) }
        return Self.waitMs(now: SystemClock.monotonicNs(), until: deadline, movesByItself: true)
    }

    /// The time on `clock`: the agent's monotonic clock read directly, a test's clock through
    /// its protocol.
    @inline(__always)
    private func readClock() -> UInt64 {
        clockIsMonotonic ? SystemClock.monotonicNs() : clock.nowNs()
    }

    /// A datagram handler, from `handleEvents`: it handled `count` datagrams (they count toward
    /// the rate that decides gathering), and its events may be gathered (`gatherWindowNs`).
    public func noteDatagrams(_ count: Int) {
        handlerNotedDatagrams = true
        rateWindowDatagrams &+= UInt64(count)
    }

    /// Whether the loop should sleep before its next wait, and until when (nil: wait now): the
    /// last iteration and the last rate window handled datagrams only, `gatherMinDatagrams` to
    /// `gatherMaxDatagrams` arrive per window at the current rate, the loop was busy less than
    /// `gatherMaxBusyPerMille` of the last rate window, and the window since the last wake-up has
    /// not passed; never past the earliest timer.
    func gatherDeadline(at time: UInt64) -> UInt64? {
        let perWindowTimes1e9 = datagramRate &* gatherWindowNs
        guard gatherWindowNs > 0, lastIterationGatherable, lastRateWindowDatagramsOnly,
            busyPerMille < Self.gatherMaxBusyPerMille,
            perWindowTimes1e9 >= Self.gatherMinDatagrams &* 1_000_000_000,
            perWindowTimes1e9 <= Self.gatherMaxDatagrams &* 1_000_000_000
        else { return nil }
        var until = wokeAt &+ gatherWindowNs
        if let first = heap.first { until = min(until, first.deadline) }
        return until > time ? until : nil
    }

    private func gather() {
        guard clockIsMonotonic, lastIterationGatherable, let until = gatherDeadline(at: clock.nowNs()) else { return }
        if !timerSlackSet {
            timerSlackSet = true
            _ = CSluice_set_timer_slack(Self.gatherTimerSlackNs)
        }
        gatherSleeps += 1
        var ts = timespec(tv_sec: Int(until / 1_000_000_000), tv_nsec: Int(until % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }

    /// Counts an iteration that handled `events` (after its timers) toward the rate window, and
    /// updates `datagramRate`, `busyPerMille` and `lastRateWindowDatagramsOnly` once per window.
    private func updateRate(events: Int32, gatherable: Bool) {
        if events > 0 {
            rateWindowBusyNs &+= clock.nowNs() &- now
            if !gatherable { rateWindowHadOtherEvents = true }
        }
        let elapsed = now &- rateWindowStart
        guard elapsed >= Self.rateWindowNs else { return }
        datagramRate = rateWindowDatagrams &* 1_000_000_000 / elapsed
        busyPerMille = min(rateWindowBusyNs &* 1000 / elapsed, 1000)
        lastRateWindowDatagramsOnly = !rateWindowHadOtherEvents
        rateWindowDatagrams = 0
        rateWindowBusyNs = 0
        rateWindowHadOtherEvents = false
        rateWindowStart = now
    }

    /// One iteration: waits up to `timeoutMs` (-1: until an event, 0: not at all) for events,
    /// handles them and the queued tasks, then fires the timers that are due. Tests that own a
    /// loop step it with this instead of `run()`.
    public func runOnce(timeoutMs: Int32) {
        let n = CSluice_epoll_wait(epfd, events, Int32(maxEvents), timeoutMs)
        now = readClock()
        var gatherable = n > 0
        if n > 0 {
            wokeAt = now
            handlingEvents = true
            for i in 0..<Int(n) {
                let ev = events[i]
                if ev.data == UInt64.max {
                    if !wakeUpEndTargets.isEmpty { endWakeUp() }
                    drainQueue()
                    gatherable = false
                    continue
                }
                let slot = Int(ev.data >> 32)
                let generation = UInt32(truncatingIfNeeded: ev.data)
                guard slot < slots.count, slots[slot].generation == generation else { continue }
                if !wakeUpEndTargets.isEmpty && !slots[slot].joinsWakeUpRound { endWakeUp() }
                // Read after `endWakeUp`, which may end this registration.
                guard let object = slots[slot].object, let type = slots[slot].type else { continue }
                handlerNotedDatagrams = false
                type.dispatch(object, ev.events, tag: slots[slot].tag)
                if !handlerNotedDatagrams { gatherable = false }
            }
            handlingEvents = false
            if !wakeUpEndTargets.isEmpty { endWakeUp() }
            if !retired.isEmpty { retired.removeAll(keepingCapacity: true) }
        }
        lastIterationGatherable = gatherable
        fireDueTimers()
        if gatherWindowNs > 0 { updateRate(events: n, gatherable: gatherable) }
    }

    /// Reads the clock into `now` and fires every timer whose deadline has passed, earliest
    /// first (a timer a callback schedules for a passed deadline fires in the same call). The loop
    /// calls it once per iteration; a test that advanced its `ManualClock` calls it on the loop
    /// thread (e.g. inside `execute`) to fire what came due.
    public func runDueTimers() {
        now = clock.nowNs()
        fireDueTimers()
    }

    private func fireDueTimers() {
        while let first = heap.first, first.deadline <= now {
            cancel(first)
            let keep = first.keepAlive
            first.keepAlive = nil
            withExtendedLifetime(keep) { first.target.timerFired(now: now) }
        }
    }

    private func endWakeUp() {
        swap(&wakeUpEndTargets, &wakeUpEndDrain)  // a target may ask again while it is called
        for target in wakeUpEndDrain { target.wakeUpEnded() }
        wakeUpEndDrain.removeAll(keepingCapacity: true)
    }

    private func drainQueue() {
        _ = CSluice_eventfd_drain(wakeFD)
        queueLock.withLock { swap(&queue, &queueDrain) }
        for task in queueDrain { task() }
        queueDrain.removeAll(keepingCapacity: true)
    }
}
