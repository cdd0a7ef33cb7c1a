import HubbleObserver
import SluiceIO

/// A small HTTP/1.1 server on the observer's loop: listens on `address` and answers every GET
/// through `route`. The metrics and the page are each one of these (Hubble serves them on
/// separate ports, 9965 and 12000).
public final class HTTPService {
    public private(set) var acceptor: Acceptor?
    private var connections: [ObjectIdentifier: HTTPServerConnection] = [:]
    /// At most this many open connections; more are closed at accept.
    public static let maxConnections = 64

    public init() {}

    /// Starts listening on `address` on `loop`.
    public func start(loop: EventLoop, address: ListenAddress, route: @escaping (HTTPRequest) -> HTTPResponse) throws {
        acceptor = try Acceptor(loop: loop, address: address) { [weak self] accepted in
            guard let self, self.connections.count < Self.maxConnections else {
                Socket.close(accepted.fd)
                return
            }
            do {
                let connection = try HTTPServerConnection(loop: loop, fd: accepted.fd, route: route) { [weak self] c in
                    self?.connections[ObjectIdentifier(c)] = nil
                }
                self.connections[ObjectIdentifier(connection)] = connection
            } catch {
                Socket.close(accepted.fd)
            }
        }
    }

    /// Open connections now.
    public var connectionCount: Int { connections.count }

    /// Stops listening and closes every connection.
    public func stop() {
        acceptor?.close()
        for c in Array(connections.values) { c.close() }
    }
}
