import SluiceIO

/// The Observer gRPC API on `ObserverOptions.grpcAddress` (`observer.Observer`, `peer.Peer`,
/// `grpc.health.v1.Health`). Skeleton: listens, so the sandbox sees the port; the API follows.
public final class GRPCService: ObserverService {
    public private(set) var acceptor: Acceptor?

    public init() {}

    public func start(observer: Observer) throws {
        acceptor = try Acceptor(loop: observer.loop, address: observer.options.grpcAddress) { accepted in
            Socket.close(accepted.fd)
        }
    }
}
