import CSluiceShared
import Datapath
import XCTest

/// `MapFields`/`MapStruct`, the one equality and hash of the C map structs: named fields count,
/// padding never does.
final class MapFieldsTests: XCTestCase {
    func testPaddingDoesNotCountAndEveryNamedFieldDoes() {
        var a = sluice_tuple()
        a.src_ip4 = 0x0A00_0001
        a.dst_ip4 = 0x0A00_0002
        a.src_port = 43210
        a.dst_port = 80
        a.proto = 6
        var b = a
        b._pad = (1, 2, 3)
        XCTAssertEqual(a, b, "padding is ignored")
        XCTAssertEqual(a.hashValue, b.hashValue)
        XCTAssertEqual(Set([a, b]).count, 1)
        let changes: [(inout sluice_tuple) -> Void] = [
            { $0.src_ip4 += 1 }, { $0.dst_ip4 += 1 }, { $0.src_port += 1 }, { $0.dst_port += 1 }, { $0.proto += 1 },
        ]
        for (i, change) in changes.enumerated() {
            var c = a
            change(&c)
            XCTAssertNotEqual(a, c, "field \(i) counts")
        }
    }

    func testKeysOfOneMapAreDictionaryKeys() {
        var key = sluice_policy_key()
        key.endpoint_id = 7
        key.identity = 1234
        key.port = 80
        key.proto = 6
        key.direction = 1
        var other = key
        other.direction = 2
        var value = sluice_policy_value()
        value.action = 1
        let map: [sluice_policy_key: sluice_policy_value] = [key: value, other: sluice_policy_value()]
        XCTAssertEqual(map.count, 2, "keys that differ only in direction are two keys")
        XCTAssertEqual(map[key], value)
        var padded = value
        padded._pad = 99
        XCTAssertEqual(padded, value, "a value's padding does not count")
        var otherPolicy = value
        otherPolicy.policy_ref = 7
        XCTAssertNotEqual(otherPolicy, value, "the policy a value came from counts (flow records name it)")
    }
}
