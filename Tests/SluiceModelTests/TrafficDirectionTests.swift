import SluiceModel
import XCTest

final class TrafficDirectionTests: XCTestCase {
    func testCAndHubbleMappings() {
        // enum sluice_direction (bpf/include/sluice_flow.h) and Hubble's protobuf numbers.
        XCTAssertEqual(TrafficDirection.unknown.cValue, 0)
        XCTAssertEqual(TrafficDirection.ingress.cValue, 1)
        XCTAssertEqual(TrafficDirection.egress.cValue, 2)
        for direction in TrafficDirection.allCases {
            XCTAssertEqual(TrafficDirection(c: direction.cValue), direction)
            XCTAssertEqual(direction.rawValue, direction.cValue)
            XCTAssertEqual(TrafficDirection(name: direction.name), direction)
        }
        XCTAssertEqual(TrafficDirection(c: 3), .unknown)
        XCTAssertEqual(TrafficDirection.ingress.name, "INGRESS")
        XCTAssertEqual(TrafficDirection.egress.name, "EGRESS")
        XCTAssertEqual(TrafficDirection.unknown.name, "TRAFFIC_DIRECTION_UNKNOWN")
        XCTAssertNil(TrafficDirection(name: "ingress"))
    }
}
