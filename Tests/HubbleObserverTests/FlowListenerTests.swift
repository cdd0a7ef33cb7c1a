import Flows
import XCTest

@testable import HubbleObserver

final class FlowListenerTests: XCTestCase {
    final class FlowsOnly: FlowListener {
        var count = 0
        func observe(_ flow: Flow) { count += 1 }
    }

    func testLostEventsAreOptionalForAListener() throws {
        let listener = FlowsOnly()
        listener.observe(Flow())
        listener.observeLost(LostEvent(source: .hubbleRingBuffer, count: 3))
        XCTAssertEqual(listener.count, 1)
    }
}
