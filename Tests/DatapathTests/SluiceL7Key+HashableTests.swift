import CSluiceShared
import Datapath
import XCTest

/// The L7 port map's key and value: named fields count, padding does not.
final class SluiceL7KeyHashableTests: XCTestCase {
    func testL7Key() {
        assertMapStruct(
            sluice_l7_key(endpoint_id: 3, port: 80, proto: 6, direction: 1),
            counted: [{ $0.endpoint_id += 1 }, { $0.port += 1 }, { $0.proto += 1 }, { $0.direction += 1 }])
    }

    func testL7ValueIgnoresPadding() {
        var value = sluice_l7_value()
        value.kind = 1
        assertMapStruct(value, ignored: [{ $0._pad = (1, 2, 3) }], counted: [{ $0.kind += 1 }, { $0._reserved += 1 }])
    }
}
