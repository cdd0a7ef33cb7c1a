import Flows
import HubbleObserver
import ServiceMap
import SluiceIO

/// The service-map page on `--ui-address` (Hubble UI's 12000): `/` is the page, `/api/servicemap`
/// its JSON (`?namespace=NS` keeps the edges touching NS). The map is built from the observer's
/// history at start and every flow after.
public final class ServiceMapService: ObserverService, FlowListener {
    public private(set) var map = ServiceMap()
    private let http = HTTPService()

    public init() {}

    public func start(observer: Observer) throws {
        guard let address = observer.options.uiAddress else { return }
        for entry in observer.history.entries { map.add(entry.flow) }
        observer.addListener(self)
        try http.start(loop: observer.loop, address: address) { [weak self] request in
            self?.answer(request) ?? HTTPResponse(status: 404, text: "not found\n")
        }
    }

    public func observe(_ flow: Flow) { map.add(flow) }

    func answer(_ request: HTTPRequest) -> HTTPResponse {
        let namespace = request.query["namespace"] ?? ""
        switch request.path {
        case "/", "/index.html":
            return HTTPResponse(
                status: 200, contentType: "text/html; charset=utf-8",
                text: ServiceMapPage.html(map.snapshot(namespace: namespace), namespace: namespace))
        case "/api/servicemap":
            return HTTPResponse(
                status: 200, contentType: "application/json",
                text: ServiceMapPage.json(map.snapshot(namespace: namespace)))
        default:
            return HTTPResponse(status: 404, text: "not found: try / or /api/servicemap\n")
        }
    }
}
