import Glibc
import KubeClient
import SluiceModel
import XCTest

@testable import Agent

/// The node's own addresses with `--endpoints-from=kubernetes`: the `RTM_GETADDR` dump request's
/// bytes, replies the kernel really sent (captured in a namespace with lo up, `10.9.0.1/24` and
/// `192.168.5.2/32` on veth d0, and `10.9.9.1 peer 10.9.9.2` on d1; the dump came in two
/// buffers, the addresses and then NLMSG_DONE) read into addresses without 127/8, the local
/// address of a point-to-point one; truncated and malformed replies are errors, not traps; the
/// set chosen from interfaces, the file and the pods' hostIP. The socket part runs against this
/// process's own namespace.
final class NodeAddressesTests: XCTestCase {
    private func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            out.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return out
    }

    private func ip(_ text: String) -> UInt32 { IPv4Address(text)!.networkOrder }

    /// The four RTM_NEWADDR messages (lo, d1 peer, d0 /24, d0 /32), sequence 7.
    private let addresses =
        "4c0000001400020007000000527d0000020880fe01000000080001007f000001080002007f000001070003006c6f0000"
        + "080008008000000014000600fffffffffffffffff1c36200f1c36200"
        + "4c0000001400020007000000527d00000220800002000000080001000a090902080002000a0909010700030064310000"
        + "080008008000000014000600fffffffffffffffff2c36200f2c36200"
        + "4c0000001400020007000000527d00000218800003000000080001000a090001080002000a0900010700030064300000"
        + "080008008000000014000600fffffffffffffffff2c36200f2c36200"
        + "4c0000001400020007000000527d0000022080000300000008000100c0a8050208000200c0a805020700030064300000"
        + "080008008000000014000600fffffffffffffffff2c36200f2c36200"
    private let done = "140000000300020007000000527d000000000000"

    func testTheRequestDumpsTheIPv4AddressesOfEveryInterface() {
        XCTAssertEqual(
            NodeAddresses.request(sequence: 7),
            bytes("18000000" + "1600" + "0103" + "07000000" + "00000000" + "02000000" + "00000000"))
    }

    func testTheKernelsDumpGivesEveryAddressButLoopbackAndTheLocalSideOfAPeer() {
        XCTAssertEqual(
            NodeAddresses.parse(bytes(addresses), sequence: 7),
            .more([ip("10.9.9.1"), ip("10.9.0.1"), ip("192.168.5.2")]))
        XCTAssertEqual(NodeAddresses.parse(bytes(done), sequence: 7), .done([]))
        XCTAssertEqual(
            NodeAddresses.parse(bytes(addresses + done), sequence: 7),
            .done([ip("10.9.9.1"), ip("10.9.0.1"), ip("192.168.5.2")]), "one buffer with the end")
    }

    func testMessagesOfAnotherSequenceAndOtherFamiliesAreSkipped() {
        XCTAssertEqual(NodeAddresses.parse(bytes(addresses), sequence: 8), .more([]))
        var inet6 = bytes(addresses)
        inet6[16 + 76] = 10  // the second message's ifa_family: AF_INET6
        XCTAssertEqual(NodeAddresses.parse(inet6, sequence: 7), .more([ip("10.9.0.1"), ip("192.168.5.2")]))
    }

    func testKernelErrorsAndMalformedRepliesAreErrors() {
        // NLMSG_ERROR -EPERM.
        var error = bytes("2400000002000000070000000000000000000000") + NodeAddresses.request(sequence: 7)
        error[16] = 0xff
        error[17] = 0xff
        error[18] = 0xff
        error[19] = 0xff
        XCTAssertEqual(NodeAddresses.parse(error, sequence: 7), .failed("RTM_GETADDR: Operation not permitted"))
        let reply = bytes(addresses)
        for cut in [4, 15, 20, 76 + 30, reply.count - 1] {
            let chunk = NodeAddresses.parse(Array(reply.prefix(cut)), sequence: 7)
            guard case .failed = chunk else { return XCTFail("cut at \(cut): \(chunk)") }
        }
        var badAttribute = reply
        badAttribute[24] = 0xf0  // IFA_ADDRESS length 240, past the message
        XCTAssertEqual(NodeAddresses.parse(badAttribute, sequence: 7), .failed("malformed address attribute at 24"))
        var shortMessage = reply
        shortMessage[0] = 8
        XCTAssertEqual(
            NodeAddresses.parse(shortMessage, sequence: 7),
            .failed("malformed netlink message (length 8 at 0 of 304)"))
        var noIfaddrmsg = bytes(done)
        noIfaddrmsg[4] = 20  // RTM_NEWADDR with a 4-byte body
        XCTAssertEqual(NodeAddresses.parse(noIfaddrmsg, sequence: 7), .failed("short address message"))
    }

    func testGarbageNeverTraps() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var reply = bytes(addresses + done)
            for _ in 0..<3 { reply[Int.random(in: 0..<reply.count, using: &generator)] = UInt8.random(in: 0...255) }
            _ = NodeAddresses.parse(reply, sequence: 7)
        }
    }

    func testTheSetIsTheInterfacesTheFileAndThisNodesPodsHostIP() {
        var workloads = KubeWorkloads.State()
        workloads.pods["a/web"] = PodInfo(
            namespace: "a", name: "web", nodeName: "n1", ipv4: ["10.1.0.5"], hostIP: "192.168.5.2")
        workloads.pods["a/other"] = PodInfo(
            namespace: "a", name: "other", nodeName: "n2", ipv4: ["10.2.0.5"], hostIP: "192.168.5.3")
        workloads.pods["a/stale"] = PodInfo(
            namespace: "a", name: "stale", nodeName: "n1", ipv4: ["10.1.0.6"], hostIP: "10.1.0.5")
        workloads.pods["a/bad"] = PodInfo(namespace: "a", name: "bad", nodeName: "n1", ipv4: [], hostIP: "nonsense")
        let chosen = NodeAddresses.choose(
            interfaces: [ip("10.9.0.1"), ip("127.0.0.1"), ip("0.0.0.0"), ip("10.9.0.1")], fixed: [ip("10.0.0.1")],
            workloads: workloads, nodeName: "n1", endpointIPs: [ip("10.1.0.5")])
        XCTAssertEqual(
            chosen, [ip("10.0.0.1"), ip("10.9.0.1"), ip("192.168.5.2")],
            "sorted, once each; not loopback, 0.0.0.0, a pod's own address or another node's")
        XCTAssertEqual(
            NodeAddresses.choose(interfaces: [], fixed: [], workloads: nil, nodeName: "n1", endpointIPs: []), [])
    }

    /// This process's namespace: loopback is never one of the node's addresses.
    func testTheKernelAnswersADump() throws {
        let answer = NodeAddresses.lookup()
        guard case .success(let found) = answer else { return XCTFail("\(answer)") }
        XCTAssertFalse(found.contains { NodeAddresses.isLoopback($0) }, "\(found)")
        XCTAssertEqual(Set(found).count, found.count)
    }
}
