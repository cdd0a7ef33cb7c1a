import DNS
import SluiceIO
import SluiceModel

/// Holds the DNS answers of one worker whose IPs are being written into the datapath, and
/// releases each when its IPs are in place or when `maxDelayNs` has passed, whichever comes
/// first (Cilium `--tofqdns-proxy-response-max-delay`: the answer goes out anyway and the delay is
/// counted). Each answer is released exactly once.
///
/// Loop-thread only, except the completion the service calls, which hops back through the loop's
/// task queue.
final class FQDNAnswerGate: TimerTarget {
    private struct Held {
        var deadline: UInt64
        var release: () -> Void
    }

    private let loop: EventLoop
    private let service: FQDNLearning
    private let maxDelayNs: UInt64
    private var held: [UInt64: Held] = [:]
    /// Tokens in hold order; deadlines are hold time + a constant, so this is deadline order.
    private var order: [UInt64] = []
    private var orderStart = 0
    private var nextToken: UInt64 = 1
    private var wakeup = EarliestDeadline()

    /// Answers released because their IPs were in place.
    private(set) var releasedInstalled = 0
    /// Answers released because the delay ran out first (Cilium counts these too).
    private(set) var releasedAfterMaxDelay = 0

    init(loop: EventLoop, service: FQDNLearning, maxDelayNs: UInt64) {
        self.loop = loop
        self.service = service
        self.maxDelayNs = maxDelayNs
    }

    /// Answers currently held.
    var heldCount: Int { held.count }

    /// Holds `release` until `ips` for `name` are learned, at most `maxDelayNs` from `now`.
    func hold(name: String, ips: [IPAddress], ttl: UInt32, now: UInt64, release: @escaping () -> Void) {
        let token = nextToken
        nextToken += 1
        let deadline = now + maxDelayNs
        held[token] = Held(deadline: deadline, release: release)
        order.append(token)
        arm(deadline)
        let loop = self.loop
        service.learn(name: name, ips: ips, ttl: ttl) { [weak self] in
            loop.execute { self?.installed(token) }
        }
    }

    /// The service finished with `token`'s IPs: release the answer if it is still held.
    private func installed(_ token: UInt64) {
        guard let entry = held.removeValue(forKey: token) else { return }
        releasedInstalled += 1
        entry.release()
    }

    func timerFired(now: UInt64) {
        wakeup.fired()
        while orderStart < order.count {
            let token = order[orderStart]
            guard let entry = held[token] else {
                orderStart += 1
                continue
            }
            if entry.deadline > now {
                arm(entry.deadline)
                break
            }
            orderStart += 1
            held[token] = nil
            releasedAfterMaxDelay += 1
            entry.release()
        }
        if orderStart == order.count || orderStart > 1024 {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }

    private func arm(_ at: UInt64) { wakeup.arm(at, on: loop, for: self) }
}
