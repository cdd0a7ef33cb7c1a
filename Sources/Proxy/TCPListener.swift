import Glibc
import Policy
import SluiceIO

/// A transparent TCP listener of one worker (HTTP, DNS over TCP). The accept loop is here, once:
/// edge-triggered, it accepts until the queue is empty, takes each connection's steering entry
/// (both endpoints, identities, sides) and hands both to `accepted`.
///
/// It stops accepting for a while (`AcceptGate`) when the worker holds its share of the
/// connection cap, or when accept fails for want of descriptors or memory (EMFILE, ENFILE,
/// ENOBUFS, ENOMEM): the listener leaves epoll, the connections wait in the kernel's accept
/// queue, and a timer puts it back once there is room again. The process never exits for it.
protocol TCPListener: EventHandler {
    var fd: Int32 { get }
    var steering: SteeringTable { get }
    var gate: AcceptGate { get }
    /// Whether the worker holds as many connections as it may (its share of the cap).
    var atCapacity: Bool { get }
    /// Starts the handler of one accepted connection.
    func accepted(_ connection: Socket.Accepted, steer: SteerInfo?)
}

extension TCPListener {
    /// Accepts every pending connection, unless the gate is closed.
    func acceptPending() {
        guard gate.pausedFor == nil else { return }
        while true {
            if atCapacity {
                gate.pause(.connectionCap)
                return
            }
            let accepted: Socket.Accepted?
            do {
                accepted = try Socket.accept(fd)
            } catch {
                switch error.errno {
                case ECONNABORTED, EINTR, EPROTO, EPERM:
                    continue  // that connection is gone; the next one may be fine
                case EMFILE, ENFILE:
                    gate.pause(.fileLimit)
                default:
                    gate.pause(.acceptError)
                }
                return
            }
            guard let a = accepted else { return }
            let steer = steering.lookup(
                sourceAddress: a.peerAddress, sourcePort: a.peerPort,
                destinationAddress: a.localAddress, destinationPort: a.localPort,
                protocol: IPProtocol.tcp)
            self.accepted(a, steer: steer)
        }
    }

    func handleEvents(_ events: UInt32, tag: UInt32) { acceptPending() }
}

/// Why a listener stopped accepting for a while.
enum AcceptPause: Equatable {
    /// The worker holds its share of `ProxyConfig.maxConnections`.
    case connectionCap
    /// EMFILE or ENFILE: no descriptor for the connection.
    case fileLimit
    /// Another accept error (ENOBUFS, ENOMEM, ...).
    case acceptError
}

/// A listener's registration in its worker's loop, and the pause that takes it out of the loop:
/// `pause` deregisters the socket and schedules a retry after `retryNs`; when it fires, the
/// listener goes back into epoll (when the worker is under its cap) and accepts what waited.
/// Loop thread only.
final class AcceptGate: TimerTarget {
    unowned let listener: any TCPListener
    let ctx: WorkerContext
    private var registration: EventLoop.Registration = .none
    /// Why the listener is out of the loop now; nil while it accepts.
    private(set) var pausedFor: AcceptPause?
    private lazy var timer = LoopTimer(target: self)
    /// How long a paused listener waits before it looks again (HAProxy and nginx wait 100 ms
    /// and 500 ms after EMFILE).
    static let retryNs: UInt64 = 100_000_000

    init(listener: any TCPListener, ctx: WorkerContext) {
        self.listener = listener
        self.ctx = ctx
    }

    deinit { ctx.loop.cancel(timer) }

    /// Puts the listener into its worker's loop (edge-triggered).
    func register() throws(SyscallError) {
        registration = try ctx.loop.register(
            fd: listener.fd, events: EventLoop.Events.readable | EventLoop.Events.edgeTriggered,
            handler: listener, tag: 0)
    }

    /// Takes the listener out of the loop and schedules the retry.
    func pause(_ reason: AcceptPause) {
        guard pausedFor == nil else { return }
        pausedFor = reason
        ctx.listenerStats.pausedListeners += 1
        switch reason {
        case .connectionCap: ctx.listenerStats.capPauses += 1
        case .fileLimit: ctx.listenerStats.fileLimitPauses += 1
        case .acceptError: ctx.listenerStats.acceptErrorPauses += 1
        }
        ctx.loop.deregister(fd: listener.fd, registration: registration)
        registration = .none
        ctx.loop.schedule(timer, at: ctx.loop.now + Self.retryNs)
    }

    func timerFired(now: UInt64) {
        guard pausedFor != nil else { return }
        if listener.atCapacity {
            ctx.loop.schedule(timer, at: now + Self.retryNs)
            return
        }
        do {
            try register()
        } catch {
            ctx.loop.schedule(timer, at: now + Self.retryNs)  // no room for the epoll entry yet
            return
        }
        pausedFor = nil
        ctx.listenerStats.pausedListeners -= 1
        listener.acceptPending()
    }
}

/// What the listeners of the workers did about their limits (`ProxyServer.stats`).
public struct ListenerStats: Sendable, Equatable {
    /// Open HTTP connections (HTTP/1 and HTTP/2) over the workers.
    public var openConnections = 0
    /// Their cap over the workers (`ProxyConfig.maxConnections`, split evenly).
    public var connectionCap = 0
    /// Times a listener stopped accepting at the cap.
    public var capPauses = 0
    /// Times a listener stopped accepting on EMFILE/ENFILE.
    public var fileLimitPauses = 0
    /// Times a listener stopped accepting on another accept error.
    public var acceptErrorPauses = 0
    /// Listeners out of the loop now.
    public var pausedListeners = 0

    public init() {}

    /// The sum of two workers' figures.
    public static func + (a: ListenerStats, b: ListenerStats) -> ListenerStats {
        var s = ListenerStats()
        s.openConnections = a.openConnections + b.openConnections
        s.connectionCap = a.connectionCap + b.connectionCap
        s.capPauses = a.capPauses + b.capPauses
        s.fileLimitPauses = a.fileLimitPauses + b.fileLimitPauses
        s.acceptErrorPauses = a.acceptErrorPauses + b.acceptErrorPauses
        s.pausedListeners = a.pausedListeners + b.pausedListeners
        return s
    }

    /// Lines for `sluice status`.
    public var description: String {
        "connections: \(openConnections) open, cap \(connectionCap)\n"
            + "accept paused: \(capPauses) at the cap, \(fileLimitPauses) on EMFILE/ENFILE, "
            + "\(acceptErrorPauses) on other errors; \(pausedListeners) listener(s) paused now"
    }
}
