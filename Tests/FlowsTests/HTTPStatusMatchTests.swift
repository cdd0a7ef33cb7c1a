import XCTest

@testable import Flows

final class HTTPStatusMatchTests: XCTestCase {
    func testParsing() {
        XCTAssertEqual(HTTPStatusMatch("404").map { [$0.low, $0.high] }, [404, 405])
        XCTAssertEqual(HTTPStatusMatch("5+").map { [$0.low, $0.high] }, [500, 600])
        XCTAssertEqual(HTTPStatusMatch("40+").map { [$0.low, $0.high] }, [400, 410])
        XCTAssertEqual(HTTPStatusMatch("404+").map { [$0.low, $0.high] }, [404, 405])
        for bad in ["", "+", "40", "099", "1000", "099+", "4x4", "+5", "٤٠٤", "5++"] {
            XCTAssertNil(HTTPStatusMatch(bad), bad)
        }
    }

    func testMatchesOnlyResponsesInRange() {
        let common = FlowFixtures.common(
            .forwarded, from: FlowFixtures.client, 40000, to: FlowFixtures.server, 80,
            time: FlowFixtures.mono(millis: 1))
        let response503 = FlowFixtures.http(common, .response, method: "GET", path: "/", code: 503)
        let response404 = FlowFixtures.http(common, .response, method: "GET", path: "/", code: 404)
        let request = FlowFixtures.http(common, .request, method: "GET", path: "/")
        let fiveXX = HTTPStatusMatch("5+")!
        XCTAssertTrue(fiveXX.matches(response503))
        XCTAssertFalse(fiveXX.matches(response404))
        XCTAssertFalse(fiveXX.matches(request))
        XCTAssertTrue(HTTPStatusMatch("404")!.matches(response404))
        XCTAssertFalse(HTTPStatusMatch("403")!.matches(response404))
    }
}
