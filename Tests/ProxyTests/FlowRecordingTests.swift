import XCTest

@testable import Proxy

/// The switch itself: paused and resumed from another thread than the one that reads it.
final class FlowRecordingTests: XCTestCase {
    func testOnUntilPausedAndOnAgainWhenResumed() {
        let recording = FlowRecording()
        XCTAssertTrue(recording.isOn)
        recording.pause()
        XCTAssertFalse(recording.isOn)
        recording.pause()
        XCTAssertFalse(recording.isOn, "pausing twice stays paused")
        recording.resume()
        XCTAssertTrue(recording.isOn)
        XCTAssertFalse(FlowRecording(paused: true).isOn)
    }

    func testASwitchFromAnotherThreadIsSeen() {
        let recording = FlowRecording()
        let done = expectation(description: "paused on another thread")
        Thread {
            recording.pause()
            done.fulfill()
        }.start()
        wait(for: [done], timeout: 5)
        XCTAssertFalse(recording.isOn)
    }
}
