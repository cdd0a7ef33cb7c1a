import CSluiceShared
import Policy
import XCTest

@testable import Proxy

/// What tc recorded for a steered connection as the workers see it: which endpoint is on which
/// side for a single-direction entry, the record's fields, the first direction Cilium would take,
/// and the mark of the upstream sockets.
final class WorkerContextTests: XCTestCase {
    func testASingleDirectionEntryPutsTheEndpointOnItsSide() {
        let egress = SteerInfo(endpointID: 7, sourceIdentity: 256, destinationIdentity: 2, direction: .egress)
        XCTAssertEqual(egress.sourceEndpoint, 7)
        XCTAssertEqual(egress.destinationEndpoint, 0)
        XCTAssertEqual(egress.sides, .egress)
        let ingress = SteerInfo(endpointID: 7, sourceIdentity: 2, destinationIdentity: 256, direction: .ingress)
        XCTAssertEqual(ingress.sourceEndpoint, 0)
        XCTAssertEqual(ingress.destinationEndpoint, 7)
        XCTAssertEqual(ingress.sides, .ingress)
    }

    func testTheRecordsFieldsAndTheFirstDirection() {
        var info = sluice_steer_info()
        info.src_endpoint = 3
        info.dst_endpoint = 4
        info.src_identity = 300
        info.dst_identity = 400
        info.sides = UInt8(SLUICE_STEER_EGRESS | SLUICE_STEER_INGRESS)
        info.created_ns = 99
        let both = SteerInfo(info)
        XCTAssertEqual(
            both,
            SteerInfo(
                sourceEndpoint: 3, destinationEndpoint: 4, sourceIdentity: 300, destinationIdentity: 400,
                sides: [.egress, .ingress], createdNs: 99))
        XCTAssertEqual(both.firstDirection, .egress, "the source's egress proxy comes first")
        info.sides = UInt8(SLUICE_STEER_INGRESS)
        XCTAssertEqual(SteerInfo(info).firstDirection, .ingress)
    }

    func testUpstreamSocketsCarryTheClientsIdentity() {
        let info = SteerInfo(endpointID: 7, sourceIdentity: 256, destinationIdentity: 2, direction: .egress)
        XCTAssertEqual(info.upstreamMark, ProxyMarks.fromProxy(identity: 256))
        XCTAssertNotEqual(info.upstreamMark, ProxyMarks.fromProxy(identity: 2))
    }
}
