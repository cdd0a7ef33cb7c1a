import Flows
import SluiceJSON
import XCTest

@testable import ServiceMap

final class ServiceMapPageTests: XCTestCase {
    func testPageEmbedsTheSnapshotSafely() throws {
        var map = ServiceMap()
        let a = FlowEndpoint(id: 1, identity: 1001, namespace: "default", podName: "client")
        let b = FlowEndpoint(id: 2, identity: 1002, namespace: "default", podName: "server")
        map.add(
            Flow(
                verdict: .forwarded, l4: .tcp(Flow.TCP(sourcePort: 1, destinationPort: 80)), source: a, destination: b,
                type: .l7,
                l7: Flow.Layer7(
                    type: .request,
                    record: .http(
                        Flow.HTTP(method: "GET", url: "/</script><img src=x onerror=alert(1)>", protocol: "HTTP/1.1"))),
                eventType: Flow.EventType(type: Flow.EventType.l7), isReply: false))
        let html = ServiceMapPage.html(map.snapshot(), namespace: "default\"</script>")
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(html.contains("</script><img"))
        XCTAssertTrue(html.contains("\\u003c/script>\\u003cimg"))
        XCTAssertTrue(html.contains("const initialNamespace = \"defaultscript\";"))
        XCTAssertFalse(html.contains("http://") && html.contains("src=\"http"))  // nothing loaded from outside
        let json = ServiceMapPage.json(map.snapshot())
        let back = try JSON.decode(ServiceMap.Snapshot.self, from: json)
        XCTAssertEqual(back, map.snapshot())
        XCTAssertEqual(back.edges.first?.requests, ["GET /</script><img src=x onerror=alert(1)>": 1])
    }
}
