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
    lazy var gate = AcceptGate(listener: self, ctx: worker.ctx)
    /// Read buffer shared by this worker's DNS connections (each read is consumed at once).
    let scratch: UnsafeMutableRawBufferPointer

    init(worker: DNSWorker, fd: Int32) {
        self.worker = worker
        self.fd = fd
        scratch = .allocate(byteCount: 16384, alignment: 8)
    }

    deinit { scratch.deallocate() }

    func start() throws(SyscallError) {
        try gate.register()
    }

    var steering: SteeringTable { worker.ctx.steering }
    /// DNS-over-TCP connections have their own cap (`DNSProxyConfig.tcpMaxConnections`, split
    /// over the workers), not the HTTP one; the listener also pauses on EMFILE/ENFILE.
    var atCapacity: Bool { worker.tcpConnections >= worker.tcpConnectionShare }

    func accepted(_ a: Socket.Accepted, steer: SteerInfo?) {
        DNSStreamConnection(
            listener: self, fd: a.fd, client: DNSEndpointAddress(address: a.peerAddress, port: a.peerPort),
            server: DNSEndpointAddress(address: a.localAddress, port: a.localPort), steer: steer
        ).start()
    }
}
