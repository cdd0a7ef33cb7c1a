import Foundation
import SluiceModel
import XCTest

/// `ConntrackEntry` is the `ct-list` answer's schema: the agent encodes it and the CLI decodes it,
/// so its JSON keys are the protocol and must stay these.
final class ConntrackEntryTests: XCTestCase {
    let entry = ConntrackEntry(
        proto: "TCP", source: "10.244.1.11", destination: "10.244.2.22", sourcePort: 43210,
        destinationPort: 80, createdNs: 12_000_000_000, flags: ["from-pod", "closed"])

    func testTheJSONKeysAreTheControlAnswersSchema() throws {
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(entry)) as? [String: Any]
        XCTAssertEqual(
            Set(object?.keys.map { $0 } ?? []),
            ["proto", "source", "destination", "sourcePort", "destinationPort", "createdNs", "flags"])
        XCTAssertEqual(object?["sourcePort"] as? Int, 43210)
        XCTAssertEqual(object?["flags"] as? [String], ["from-pod", "closed"])
    }

    func testAnEntrySurvivesTheRoundTrip() throws {
        let decoded = try JSONDecoder().decode(ConntrackEntry.self, from: JSONEncoder().encode(entry))
        XCTAssertEqual(decoded, entry)
        var other = entry
        other.flags = []
        XCTAssertNotEqual(other, entry, "the flags take part in equality")
    }
}
