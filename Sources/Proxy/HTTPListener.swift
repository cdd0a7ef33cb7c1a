import Policy
import SluiceIO

/// The transparent HTTP listener of one worker (all workers' listeners share one SO_REUSEPORT
/// group; the sockmap holds one of them and the kernel spreads connections over the group).
/// Accepts, takes the steering entry from the worker's `SteeringCache`, and starts an `HTTP1Connection`.
final class HTTPListener: EventHandler {
    let ctx: WorkerContext
    let fd: Int32
    private var registration: EventLoop.Registration = .none

    init(ctx: WorkerContext, fd: Int32) {
        self.ctx = ctx
        self.fd = fd
    }

    func start() throws(SyscallError) {
        registration = try ctx.loop.register(
            fd: fd, events: EventLoop.Events.readable | EventLoop.Events.edgeTriggered, handler: self, tag: 0)
    }

    func handleEvents(_ events: UInt32, tag: UInt32) {
        // Edge-triggered: accept until the queue is empty.
        while true {
            let accepted: Socket.Accepted?
            do {
                accepted = try Socket.accept(fd)
            } catch {
                // EMFILE/ENFILE/ENOBUFS: stop for now; the next SYN raises another edge.
                return
            }
            guard let a = accepted else { return }
            let steer = ctx.steering.lookup(sourceAddress: a.peerAddress, sourcePort: a.peerPort,
                                            destinationAddress: a.localAddress, destinationPort: a.localPort,
                                            protocol: IPProtocol.tcp)
            let addresses = ConnectionAddresses(clientAddress: a.peerAddress, clientPort: a.peerPort,
                                                originalDestinationAddress: a.localAddress,
                                                originalDestinationPort: a.localPort)
            let connection = SocketHTTP1Connection(ctx: ctx, fd: a.fd, addresses: addresses, steer: steer)
            connection.start()
        }
    }
}
