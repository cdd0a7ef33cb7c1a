import Policy
import SluiceIO

/// The transparent HTTP listener of one worker (all workers' listeners share one SO_REUSEPORT
/// group; the sockmap holds one of them and the kernel spreads connections over the group).
/// Accepts (`TCPListener`), takes the steering entry from the worker's `SteeringCache`, and starts an
/// `HTTP1Connection` (or, on a port with TLS interception, a `TLSAcceptor`).
final class HTTPListener: TCPListener {
    let ctx: WorkerContext
    let fd: Int32
    lazy var gate = AcceptGate(listener: self, ctx: ctx)

    init(ctx: WorkerContext, fd: Int32) {
        self.ctx = ctx
        self.fd = fd
    }

    func start() throws(SyscallError) {
        try gate.register()
    }

    var steering: SteeringTable { ctx.steering }
    var atCapacity: Bool { ctx.connectionCount >= ctx.connectionCap }

    func accepted(_ a: Socket.Accepted, steer: SteerInfo?) {
        let addresses = ConnectionAddresses(
            clientAddress: a.peerAddress, clientPort: a.peerPort,
            originalDestinationAddress: a.localAddress,
            originalDestinationPort: a.localPort)
        if TLSAcceptor.startIfIntercepted(ctx: ctx, fd: a.fd, addresses: addresses, steer: steer) { return }
        SocketHTTP1Connection(ctx: ctx, fd: a.fd, addresses: addresses, steer: steer).start()
    }
}
