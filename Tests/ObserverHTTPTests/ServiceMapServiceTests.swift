import Flows
import Glibc
import HubbleObserver
import SluiceIO
import XCTest

@testable import ObserverHTTP

final class ServiceMapServiceTests: XCTestCase {
    func testPageAndJSONFromHistoryAndNewFlows() throws {
        var options = ObserverOptions()
        options.pinDirectory = "/sys/fs/bpf/sluice-none-\(getpid())"
        options.uiAddress = ListenAddress(host: .init(hostOrder: 0x7f00_0001), port: 0)
        let observer = try Observer(options: options)
        observer.ingest(MetricsServiceTests.flow(1))
        let service = ServiceMapService()
        try service.start(observer: observer)
        observer.ingest(MetricsServiceTests.flow(2))
        let page = service.answer(HTTPRequest(method: "GET", path: "/"))
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.contentType, "text/html; charset=utf-8")
        XCTAssertTrue(String(decoding: page.body, as: UTF8.self).contains("\"prod/server\""))
        let json = service.answer(HTTPRequest(method: "GET", target: "/api/servicemap?namespace=prod"))
        XCTAssertEqual(json.contentType, "application/json")
        let text = String(decoding: json.body, as: UTF8.self)
        XCTAssertTrue(text.contains("\"forwarded\":2"), text)
        XCTAssertTrue(text.contains("\"destination\":\"prod/server\""), text)
        XCTAssertEqual(service.map.snapshot(namespace: "nowhere").edges.count, 0)
        XCTAssertEqual(service.answer(HTTPRequest(method: "GET", path: "/x")).status, 404)
    }
}
