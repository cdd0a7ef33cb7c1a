import Glibc
import SluiceModel
import XCTest

@testable import Agent

/// The route query that finds a local pod's host interface: the request's bytes, and replies
/// the kernel really sent (captured from a namespace with a veth and `10.244.1.11/32 dev vpod0`,
/// a default route via 10.9.0.254, `10.88.0.0/24 dev br0` and the local 10.9.0.1; and from an
/// empty namespace) read into pod route or not; truncated and malformed replies are errors, not
/// traps. The socket part is run against this process's own namespace.
final class PodRouteTests: XCTestCase {
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

    /// `10.244.1.11/32 dev vpod0 scope link` (ifindex 3), sequence 7.
    private var podRoute: String {
        "3400000018000000070000003c23000002200000fe03fd010000000008000f00fe000000080001000af4010b0800040003000000"
    }

    func testTheRequestAsksForTheFIBEntryOfTheAddress() {
        let request = PodRoute.request(for: IPv4Address("10.244.1.11")!, sequence: 7)
        XCTAssertEqual(
            request,
            bytes(
                "24000000" + "1a00" + "0100" + "07000000" + "00000000" + "0220000000000000" + "00200000" + "08000100"
                    + "0af4010b"))
    }

    func testAPerPodRouteGivesItsInterface() {
        XCTAssertEqual(PodRoute.parse(bytes(podRoute), sequence: 7), .podRoute(ifindex: 3))
    }

    func testADefaultRouteViaAGatewayIsNotAPodRoute() {
        let reply =
            "3400000018000000080000003c23000002000000fe0300010000000008000f00fe000000080005000a0900fe0800040002000000"
        XCTAssertEqual(PodRoute.parse(bytes(reply), sequence: 8), .notPodRoute("a route via a gateway, not a pod's"))
    }

    func testABridgeSubnetRouteIsNotAPodRoute() {
        let reply =
            "3400000018000000090000003c23000002180000fe03fd010000000008000f00fe000000080001000a5800000800040004000000"
        XCTAssertEqual(PodRoute.parse(bytes(reply), sequence: 9), .notPodRoute("a /24 route, not a per-pod /32"))
    }

    func testALocalAddressIsNotAPodRoute() {
        let reply =
            "3c000000180000000a0000003c23000002200000fe02fe020000000008000f00fe000000080001000a090001080007000a0900010800040002000000"
        XCTAssertEqual(PodRoute.parse(bytes(reply), sequence: 10), .notPodRoute("a local route, not a pod's"))
    }

    func testNoRouteIsAnErrorMessageOfTheKernel() {
        let reply =
            "3800000002000000070000007f2300009bffffff240000001a0001000700000000000000022000000000000000200000080001000af4010b"
        XCTAssertEqual(PodRoute.parse(bytes(reply), sequence: 7), .notPodRoute("no route"))
        // Another errno is a failure with its words.
        var other = bytes(reply)
        other[16] = 0xff  // -1: EPERM
        XCTAssertEqual(PodRoute.parse(other, sequence: 7), .failed("RTM_GETROUTE: Operation not permitted"))
    }

    func testMessagesOfAnotherSequenceAreSkipped() {
        let stale = bytes(podRoute)
        var mine = bytes(podRoute)
        mine[8] = 9
        mine[48] = 5  // RTA_OIF 5
        XCTAssertEqual(PodRoute.parse(stale + mine, sequence: 9), .podRoute(ifindex: 5))
        XCTAssertEqual(PodRoute.parse(stale, sequence: 9), .failed("no answer to the route query"))
    }

    func testTruncatedAndMalformedRepliesAreErrors() {
        let reply = bytes(podRoute)
        for cut in [0, 4, 15, 16, 20, 40, reply.count - 1] {
            let answer = PodRoute.parse(Array(reply.prefix(cut)), sequence: 7)
            guard case .failed = answer else { return XCTFail("cut at \(cut): \(answer)") }
        }
        var badAttribute = reply
        badAttribute[44] = 0xf0  // RTA_OIF length 240, past the message
        XCTAssertEqual(PodRoute.parse(badAttribute, sequence: 7), .failed("malformed route attribute at 44"))
        var shortAttribute = reply
        shortAttribute[44] = 2  // shorter than its own header
        XCTAssertEqual(PodRoute.parse(shortAttribute, sequence: 7), .failed("malformed route attribute at 44"))
        var shortMessage = reply
        shortMessage[0] = 8  // nlmsg_len below the header
        XCTAssertEqual(
            PodRoute.parse(shortMessage, sequence: 7), .failed("malformed netlink message (length 8 at 0 of 52)"))
        // No output interface: not a pod route.
        var noOIF = reply
        noOIF[46] = 0x63  // attribute type 99
        XCTAssertEqual(PodRoute.parse(noOIF, sequence: 7), .notPodRoute("a route without an output interface"))
    }

    func testGarbageNeverTraps() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var reply = bytes(podRoute)
            for _ in 0..<3 { reply[Int.random(in: 0..<reply.count, using: &generator)] = UInt8.random(in: 0...255) }
            _ = PodRoute.parse(reply, sequence: 7)
        }
    }

    /// The kernel of this process's namespace: the loopback address is local, not a pod's.
    func testTheKernelAnswersALookup() {
        XCTAssertEqual(PodRoute.lookup(IPv4Address("127.0.0.1")!), .notPodRoute("a local route, not a pod's"))
        XCTAssertEqual(PodRoute.interfaceName(1), "lo")
    }
}
