import CSluiceShared
import Datapath
import XCTest

/// The endpoint map structs as dictionary keys and values: every field counts.
final class SluiceEndpointKeyHashableTests: XCTestCase {
    func testEndpointAndVethKeys() {
        assertMapStruct(sluice_endpoint_key(ip4: 0x0300_000A), counted: [{ $0.ip4 += 1 }])
        assertMapStruct(sluice_veth_key(ifindex: 12), counted: [{ $0.ifindex += 1 }])
    }

    func testEndpointInfo() {
        assertMapStruct(
            sluice_endpoint_info(id: 3, identity: 256, ifindex: 12, flags: 1),
            counted: [{ $0.id += 1 }, { $0.identity += 1 }, { $0.ifindex += 1 }, { $0.flags ^= 2 }])
    }
}
