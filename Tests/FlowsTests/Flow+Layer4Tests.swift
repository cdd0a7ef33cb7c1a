import XCTest

@testable import Flows

/// Layer-4 ports per protocol and TCP flags in Hubble's summary order.
final class FlowLayer4Tests: XCTestCase {
    func testPortsPerProtocol() {
        let layers: [Flow.Layer4] = [
            .tcp(.init(sourcePort: 1, destinationPort: 2, flags: .syn)), .udp(.init(sourcePort: 3, destinationPort: 4)),
            .sctp(.init(sourcePort: 5, destinationPort: 6)), .icmpv4(.init(type: 8)),
            .icmpv6(.init(type: 128, code: 1)),
        ]
        XCTAssertEqual(layers.map(\.sourcePort), [1, 3, 5, nil, nil])
        XCTAssertEqual(layers.map(\.destinationPort), [2, 4, 6, nil, nil])
        XCTAssertEqual(layers.map(\.isICMPv6), [false, false, false, false, true])
        XCTAssertEqual(layers.map(\.protocolName), ["TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6"])
    }

    func testFlagsSummaryStartsWithSYNAndACK() {
        XCTAssertEqual(Flow.TCPFlags(rawValue: 0x12).summaryText, "SYN, ACK")
        XCTAssertEqual(Flow.TCPFlags([.fin, .ack]).summaryText, "ACK, FIN")
        XCTAssertEqual(Flow.TCPFlags(rawValue: 0xff).summaryText, "SYN, ACK, RST, FIN, PSH, URG, ECE, CWR")
        XCTAssertEqual(Flow.TCPFlags().summaryText, "")
        XCTAssertEqual(Flow.TCPFlags.protoOrder.map(\.0.rawValue), [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80])
    }
}
