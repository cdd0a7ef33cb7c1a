import Policy
import SluiceIO

/// The transparent DNS-over-TCP listener of one worker (SO_REUSEPORT group; the sockmap slot
/// SLUICE_SOCK_DNS_TCP holds the first). Accepts, reads the steering entry once per connection
/// and starts a `DNSStreamConnection`.
///
/// Loop-thread only.
final class DNSTCPListener: TCPListener {
    unowned let worker: DNSWorker
    let fd: Int32
    private var registration: EventLoop.Registration = .none
    /// Read buffer shared by this worker's DNS connections (each read is consumed at once).
    let scratch: UnsafeMutableRawBufferPointer

    init(worker: DNSWorker, fd: Int32) {
        self.worker = worker
        self.fd = fd
        scratch = .allocate(byteCount: 16384, alignment: 8)
    }

    deinit { scratch.deallocate() }

    func start() throws(SyscallError) {
        registration = try worker.ctx.loop.register(
            fd: fd, events: EventLoop.Events.readable | EventLoop.Events.edgeTriggered, handler: self, tag: 0)
    }

    var steering: SteeringTable { worker.ctx.steering }

    func accepted(_ a: Socket.Accepted, steer: SteerInfo?) {
        DNSStreamConnection(
            listener: self, fd: a.fd, client: DNSEndpointAddress(address: a.peerAddress, port: a.peerPort),
            server: DNSEndpointAddress(address: a.localAddress, port: a.localPort), steer: steer
        ).start()
    }
}
