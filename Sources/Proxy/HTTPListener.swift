import Policy
import SluiceIO

/// The transparent HTTP listener of one worker (all workers' listeners share one SO_REUSEPORT
/// group; the sockmap holds one of them and the kernel spreads connections over the group).
/// Accepts (`TCPListener`), takes the steering entry from the worker's `SteeringCache`, and starts an
/// `HTTP1Connection`.
final class HTTPListener: TCPListener {
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

    var steering: SteeringTable { ctx.steering }

    func accepted(_ a: Socket.Accepted, steer: SteerInfo?) {
        let addresses = ConnectionAddresses(
            clientAddress: a.peerAddress, clientPort: a.peerPort,
            originalDestinationAddress: a.localAddress,
            originalDestinationPort: a.localPort)
        SocketHTTP1Connection(ctx: ctx, fd: a.fd, addresses: addresses, steer: steer).start()
    }
}
