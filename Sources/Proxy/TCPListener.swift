import Policy
import SluiceIO

/// A transparent TCP listener of one worker (HTTP, DNS over TCP). The accept loop is here, once:
/// edge-triggered, it accepts until the queue is empty, takes each connection's steering entry
/// (both endpoints, identities, sides) and hands both to `accepted`.
protocol TCPListener: EventHandler {
    var fd: Int32 { get }
    var steering: SteeringTable { get }
    /// Starts the handler of one accepted connection.
    func accepted(_ connection: Socket.Accepted, steer: SteerInfo?)
}

extension TCPListener {
    /// Accepts every pending connection.
    func acceptPending() {
        while true {
            let accepted: Socket.Accepted?
            do {
                accepted = try Socket.accept(fd)
            } catch {
                // EMFILE/ENFILE/ENOBUFS: stop for now; the next SYN raises another edge.
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
