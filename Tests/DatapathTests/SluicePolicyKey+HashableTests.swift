import CSluiceShared
import Datapath
import XCTest

/// The policy, policy-mode, ipcache and conntrack map structs: the fields the datapath reads
/// count, padding and reserved bytes do not.
final class SluicePolicyKeyHashableTests: XCTestCase {
    func testPolicyKeyAndValue() {
        assertMapStruct(
            sluice_policy_key(endpoint_id: 3, identity: 256, port: 80, proto: 6, direction: 1),
            counted: [
                { $0.endpoint_id += 1 }, { $0.identity += 1 }, { $0.port += 1 }, { $0.proto += 1 },
                { $0.direction += 1 },
            ])
        var value = sluice_policy_value()
        value.action = 1
        value.policy_ref = 77
        assertMapStruct(
            value, ignored: [{ $0._pad = 9 }],
            counted: [{ $0.action += 1 }, { $0.proxy_kind += 1 }, { $0.policy_ref += 1 }])
    }

    func testPolicyModeKeyAndMode() {
        var key = sluice_policy_mode_key()
        key.endpoint_id = 3
        key.direction = 1
        assertMapStruct(
            key, ignored: [{ $0._pad = (1, 2, 3) }], counted: [{ $0.endpoint_id += 1 }, { $0.direction += 1 }])
        var mode = sluice_policy_mode()
        mode.default_deny = 1
        assertMapStruct(
            mode, ignored: [{ $0._pad = (1, 2, 3) }, { $0._reserved = 5 }], counted: [{ $0.default_deny = 0 }])
    }

    func testIPCacheKeyAndValue() {
        assertMapStruct(
            sluice_ipcache_key(prefixlen: 32, ip4: 0x0300_000A), counted: [{ $0.prefixlen -= 1 }, { $0.ip4 += 1 }])
        assertMapStruct(
            sluice_ipcache_value(identity: 256, flags: 0), counted: [{ $0.identity += 1 }, { $0.flags = 1 }])
    }

    func testConntrackTuple() {
        assertMapStruct(
            sluice_tuple(src_ip4: 1, dst_ip4: 2, src_port: 3, dst_port: 4, proto: 6, _pad: (0, 0, 0)),
            ignored: [{ $0._pad = (7, 7, 7) }],
            counted: [
                { $0.src_ip4 += 1 }, { $0.dst_ip4 += 1 }, { $0.src_port += 1 }, { $0.dst_port += 1 }, { $0.proto += 1 },
            ])
    }
}
