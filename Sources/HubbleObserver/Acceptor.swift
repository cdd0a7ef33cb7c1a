import Glibc
import SluiceIO

/// A listening TCP socket on the observer's loop: each accepted connection (non-blocking) goes
/// to `onAccept`, which owns its descriptor from then on. For every service of the observer
/// process (gRPC, metrics, the page).
///
/// Loop thread only. `close()` (idempotent) stops listening.
public final class Acceptor: EventHandler {
    public let address: ListenAddress
    private let loop: EventLoop
    private var fd: Int32
    private var registration = EventLoop.Registration.none
    private let onAccept: (Socket.Accepted) -> Void

    /// Listens on `address` and registers with `loop`.
    public init(loop: EventLoop, address: ListenAddress, onAccept: @escaping (Socket.Accepted) -> Void)
        throws(SyscallError)
    {
        self.loop = loop
        self.address = address
        self.onAccept = onAccept
        fd = try Socket.listenTCP(
            address: address.host.networkOrder, port: address.port, backlog: 128, transparent: false,
            reusePort: false)
        do {
            registration = try loop.register(fd: fd, events: EventLoop.Events.readable, handler: self, tag: 0)
        } catch {
            Socket.close(fd)
            throw error
        }
    }

    /// The port bound (the asked one, or the kernel's choice for port 0).
    public var boundPort: UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let r = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return r == 0 ? UInt16(bigEndian: address.sin_port) : 0
    }

    public func handleEvents(_ events: UInt32, tag: UInt32) {
        // Level-triggered: take what is pending, a bounded number per event so one busy listener
        // cannot starve the loop.
        for _ in 0..<64 {
            guard fd >= 0, let accepted = try? Socket.accept(fd) else { return }
            onAccept(accepted)
        }
    }

    public func close() {
        guard fd >= 0 else { return }
        loop.deregister(fd: fd, registration: registration)
        Socket.close(fd)
        fd = -1
    }
}
