import Glibc
import SluiceIO

/// Idle keep-alive upstream connections of one worker, by original destination and SO_MARK (the
/// mark carries the client's identity to the destination's policy, so a connection opened for
/// one client is never reused for a client of another identity), so a new client
/// connection (or one whose client asked to close) does not pay a TCP handshake to the server
/// (nginx `keepalive`, Envoy's connection pool). Cilium's Envoy keeps idle upstream connections
/// for `proxy-idle-timeout-seconds` = 60 s; so does this pool.
///
/// A parked socket stays registered in the loop with this pool as handler: if the server closes
/// it or sends anything unasked, it is closed and forgotten. `take` also peeks at the socket, so a
/// connection the server closed a moment ago is not handed out.
///
/// Loop-thread only.
final class UpstreamPool: EventHandler, TimerTarget {
    private struct Entry {
        var fd: Int32
        var registration: EventLoop.Registration
        var parkedAt: UInt64
    }

    /// Idle connections kept per destination at most; more are closed.
    static let maxIdlePerDestination = 256
    /// Idle time after which a parked connection is closed.
    static let idleTimeoutNs: UInt64 = 60_000_000_000

    private let loop: EventLoop
    private var idle: [UpstreamTarget: [Entry]] = [:]
    private var keyOfFD: [Int32: UpstreamTarget] = [:]
    private lazy var sweepTimer = LoopTimer(target: self)

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Parked connections, all destinations (tests and diagnostics).
    var idleCount: Int { keyOfFD.count }

    /// An idle connection to the destination with its loop registration, now handed to
    /// `handler`/`tag` (no syscall: the epoll entry stays), or nil.
    func take(_ k: UpstreamTarget, for handler: EventHandler, tag: UInt32)
        -> (fd: Int32, registration: EventLoop.Registration)?
    {
        while var list = idle[k], let entry = list.popLast() {
            idle[k] = list.isEmpty ? nil : list
            keyOfFD[entry.fd] = nil
            if UpstreamPool.isQuiet(entry.fd), loop.reassign(entry.registration, to: handler, tag: tag) {
                return (entry.fd, entry.registration)
            }
            loop.forget(entry.registration)
            Socket.close(entry.fd)
        }
        return nil
    }

    /// Keeps `fd` for reuse, taking over its loop registration (the pool becomes its handler);
    /// closes it when the pool for that destination is full.
    func park(fd: Int32, registration: EventLoop.Registration, target k: UpstreamTarget) {
        var list = idle[k] ?? []
        guard list.count < UpstreamPool.maxIdlePerDestination,
            loop.reassign(registration, to: self, tag: UInt32(bitPattern: fd))
        else {
            loop.forget(registration)
            Socket.close(fd)
            return
        }
        list.append(Entry(fd: fd, registration: registration, parkedAt: loop.now))
        idle[k] = list
        keyOfFD[fd] = k
        if !sweepTimer.isScheduled { loop.schedule(sweepTimer, at: loop.now + UpstreamPool.idleTimeoutNs / 4) }
    }

    /// The server closed a parked connection (or sent bytes nobody asked for): drop it. Writable
    /// edges (the interest set is the connection's) mean nothing here.
    func handleEvents(_ events: UInt32, tag: UInt32) {
        let gone =
            EventLoop.Events.readable | EventLoop.Events.readHangup | EventLoop.Events.hangup
            | EventLoop.Events.error
        guard events & gone != 0 else { return }
        let fd = Int32(bitPattern: tag)
        guard let k = keyOfFD[fd], var list = idle[k], let i = list.firstIndex(where: { $0.fd == fd }) else { return }
        let entry = list.remove(at: i)
        idle[k] = list.isEmpty ? nil : list
        keyOfFD[fd] = nil
        loop.forget(entry.registration)
        Socket.close(fd)
    }

    /// Closes connections idle for longer than the timeout.
    func timerFired(now: UInt64) {
        for (k, list) in idle {
            var kept: [Entry] = []
            for entry in list {
                if now &- entry.parkedAt >= UpstreamPool.idleTimeoutNs {
                    keyOfFD[entry.fd] = nil
                    loop.forget(entry.registration)
                    Socket.close(entry.fd)
                } else {
                    kept.append(entry)
                }
            }
            idle[k] = kept.isEmpty ? nil : kept
        }
        if !idle.isEmpty { loop.schedule(sweepTimer, at: now + UpstreamPool.idleTimeoutNs / 4) }
    }

    /// Idle connections held (for tests).
    var count: Int { keyOfFD.count }

    /// True when the socket has nothing to read and is not closed (recv MSG_PEEK would block).
    private static func isQuiet(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }
}
