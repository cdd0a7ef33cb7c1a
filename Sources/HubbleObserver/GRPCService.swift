import Flows
import HubbleProto
import SluiceIO
import SluiceModel

/// The Observer gRPC API on `ObserverOptions.grpcAddress` (Hubble's 4244): `observer.Observer`
/// (GetFlows, ServerStatus, GetNamespaces; GetNodes, GetAgentEvents and GetDebugEvents answered
/// UNIMPLEMENTED, as a Cilium node answers GetNodes), `peer.Peer/Notify` (this node, so Relay can
/// find it) and `grpc.health.v1.Health` (Check, Watch). Plaintext HTTP/2 (h2c with prior
/// knowledge, as gRPC clients speak it), or HTTP/2 over TLS with ALPN h2 when the options name a
/// certificate and key (`ObserverTLS`; with a client CA, mutual TLS).
///
/// Loop thread only. Connections live in `connections` until they close.
public final class GRPCService: ObserverService {
    public private(set) var acceptor: Acceptor?
    /// The TLS server of the API, nil when it speaks plaintext.
    public private(set) var tls: ObserverTLS?
    private(set) weak var observer: Observer?
    private(set) var connections: [ObjectIdentifier: GRPCConnection] = [:]
    /// The flow being handed to the follow streams, encoded once for all of them.
    let followEncoding = SharedFlowEncoding()
    /// Connections accepted at most at once (more are closed at accept).
    public let maxConnections: Int
    /// The Hubble cluster name of `GetNamespaces` answers (Cilium's default).
    public static let clusterName = "default"

    /// A connection without an open call for this long is closed (GOAWAY).
    public let idleTimeoutNs: UInt64
    /// Over TLS, a client that has not finished its handshake this long after the accept is closed.
    public let handshakeTimeoutNs: UInt64

    public init(
        maxConnections: Int = 256, idleTimeoutNs: UInt64 = 300_000_000_000, handshakeTimeoutNs: UInt64 = 10_000_000_000
    ) {
        self.maxConnections = maxConnections
        self.idleTimeoutNs = idleTimeoutNs
        self.handshakeTimeoutNs = handshakeTimeoutNs
    }

    var loop: EventLoop {
        guard let observer else { preconditionFailure("GRPCService used before start") }
        return observer.loop
    }

    public func start(observer: Observer) throws {
        self.observer = observer
        observer.keep(self)
        let options = observer.options
        if let certificate = options.tlsCertFile, let key = options.tlsKeyFile {
            tls = try ObserverTLS(certificateFile: certificate, keyFile: key, clientCAFile: options.tlsClientCAFile)
        }
        acceptor = try Acceptor(loop: observer.loop, address: options.grpcAddress) { [unowned self] accepted in
            var stream: TLSServerStream?
            if let tls {
                stream = tls.accept(fd: accepted.fd, now: loop.now)
                if stream == nil {
                    Socket.close(accepted.fd)
                    return
                }
            }
            guard connections.count < maxConnections,
                let connection = try? GRPCConnection(accepted: accepted, service: self, tls: stream)
            else {
                Socket.close(accepted.fd)
                return
            }
            connections[ObjectIdentifier(connection)] = connection
        }
    }

    func connectionClosed(_ connection: GRPCConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }

    /// Number of open client connections (tests, status).
    public var connectionCount: Int { connections.count }

    // MARK: routing

    func dispatch(_ call: GRPCConnection.Call, on connection: GRPCConnection) {
        guard let observer else { return connection.fail(call, .unavailable, "observer is stopping") }
        let message: ArraySlice<UInt8>
        switch GRPCWire.deframe(call.body[...]) {
        case .message(let m, let consumed):
            guard consumed == call.body.count else {
                return connection.fail(
                    call, .invalidArgument, "more than one request message on a unary or server-streaming call")
            }
            message = m
        case .needMore: return connection.fail(call, .invalidArgument, "request message missing or truncated")
        case .invalid(let why): return connection.fail(call, .invalidArgument, why)
        }
        do {
            switch call.path {
            case "/observer.Observer/GetFlows": try getFlows(call, message, connection, observer)
            case "/observer.Observer/ServerStatus": connection.respond(call, serverStatus(observer).bytes)
            case "/observer.Observer/GetNamespaces":
                observer.expireNamespaces()
                connection.respond(
                    call,
                    GetNamespacesResponse.bytes(
                        cluster: Self.clusterName, namespaces: observer.namespaces.keys.sorted()))
            case "/observer.Observer/GetNodes": connection.fail(call, .unimplemented, "GetNodes not implemented")
            case "/observer.Observer/GetAgentEvents":
                connection.fail(call, .unimplemented, "GetAgentEvents not implemented")
            case "/observer.Observer/GetDebugEvents":
                connection.fail(call, .unimplemented, "GetDebugEvents not implemented")
            case "/peer.Peer/Notify":
                connection.startStream(call)
                let serverName =
                    tls == nil
                    ? nil : ChangeNotification.tlsServerName(nodeName: observer.nodeName, clusterName: Self.clusterName)
                connection.send(
                    call,
                    ChangeNotification.peerAdded(
                        name: observer.nodeName, address: peerAddress(connection), tlsServerName: serverName))
            case "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch":
                let service = try HealthCheck.service(message)
                let known = Self.services.contains(service)
                if call.path.hasSuffix("/Check") {
                    if known {
                        connection.respond(call, HealthCheck.response(status: 1))
                    } else {
                        connection.fail(call, .notFound, "unknown service \(service)")
                    }
                } else {
                    // Watch: the status now, then nothing until the client goes (Sluice's status
                    // does not change while the process runs).
                    connection.startStream(call)
                    connection.send(call, HealthCheck.response(status: known ? 1 : 3))
                }
            default:
                let service = call.path.split(separator: "/").first.map(String.init) ?? ""
                if Self.services.contains(service) || service == "grpc.health.v1.Health" {
                    connection.fail(call, .unimplemented, "unknown method \(call.path)")
                } else {
                    connection.fail(call, .unimplemented, "unknown service \(service)")
                }
            }
        } catch {
            connection.fail(call, .invalidArgument, "invalid request: \(error)")
        }
    }

    /// The services `Health` reports SERVING ("" is the server as a whole).
    static let services: Set<String> = ["", "observer.Observer", "peer.Peer"]

    private func getFlows(
        _ call: GRPCConnection.Call, _ message: ArraySlice<UInt8>, _ connection: GRPCConnection, _ observer: Observer
    ) throws {
        let request = try GetFlowsRequest(bytes: message)
        let query: FlowQuery
        do {
            query = try FlowQuery(request)
        } catch {
            return connection.fail(call, .invalidArgument, error.description)
        }
        connection.startStream(call)
        for flow in query.initialFlows(observer.history) { connection.sendFramed(call, query.framed(flow)) }
        guard request.follow else { return connection.finish(call, .ok, "") }
        if let until = request.until {
            let wallNow = Int64(bitPattern: SystemClock.realtimeNs())
            let untilNs = until.seconds &* 1_000_000_000 &+ Int64(until.nanos)
            if untilNs <= wallNow { return connection.finish(call, .ok, "") }
            call.untilAt = connection.loop.now &+ UInt64(untilNs - wallNow)
            connection.armTimer()
        }
        let follow = FollowStream(
            query: query, connection: connection, call: call, encoding: followEncoding, observer: observer)
        call.follow = follow
        observer.addListener(follow)
    }

    /// `ServerStatus` as the node's observer reports it.
    func serverStatus(_ observer: Observer) -> ServerStatus {
        let history = observer.history
        // flows_rate: flows per second over the last minute of kept flows.
        let wallNow = Int64(bitPattern: SystemClock.realtimeNs())
        let minuteAgo = Flow.Timestamp(nanosecondsSinceEpoch: wallNow - 60_000_000_000)
        var lastMinute = 0
        history.forEachNewestFirst {
            guard minuteAgo < $0.time else { return false }
            lastMinute += 1
            return true
        }
        return ServerStatus(
            numFlows: UInt64(history.count), maxFlows: UInt64(history.capacity), seenFlows: history.seenFlows,
            uptimeNs: SystemClock.monotonicNs() &- observer.startedNs, version: "v\(SluiceVersion.current)+sluice",
            flowsRate: Double(lastMinute) / 60)
    }

    /// This node's address for Peer/Notify: the address the client reached (the listen address
    /// when it is a wildcard), bare when the port is Hubble's 4244 (Relay adds 4244 to a bare one).
    private func peerAddress(_ connection: GRPCConnection) -> String {
        let host = IPv4Address(networkOrder: connection.peer.localAddress).description
        let port = connection.peer.localPort
        return port == 4244 ? host : host + ":" + String(port)
    }
}
