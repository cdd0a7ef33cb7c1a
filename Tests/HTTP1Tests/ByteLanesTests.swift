import SluiceModel
import XCTest

@testable import HTTP1

/// Each lane mask against its per-byte definition, for every byte value in every lane and for
/// random words (so the neighbours of a lane are anything, and a carry or borrow leaking across
/// lanes would show).
final class ByteLanesTests: XCTestCase {
    private struct Definition {
        let name: String
        let mask: (ByteLanes) -> UInt64
        let byte: (UInt8) -> Bool
    }

    private let definitions: [Definition] = [
        Definition(name: "controls", mask: { $0.controls }, byte: { $0 < 0x20 }),
        Definition(name: "valueStops", mask: { $0.valueStops }, byte: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }),
        Definition(name: "valueVisible", mask: { $0.valueVisible }, byte: { $0 > 0x20 && $0 != 0x7F }),
        Definition(name: "equal(0x3A)", mask: { $0.equal(0x3A) }, byte: { $0 == 0x3A }),
        Definition(name: "equal(0x00)", mask: { $0.equal(0x00) }, byte: { $0 == 0x00 }),
        Definition(name: "equal(0xFF)", mask: { $0.equal(0xFF) }, byte: { $0 == 0xFF }),
        Definition(
            name: "nameBytes", mask: { $0.nameBytes },
            byte: {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D
            }),
    ]

    private func expected(_ bytes: [UInt8], _ byte: (UInt8) -> Bool) -> UInt64 {
        var mask: UInt64 = 0
        for (lane, b) in bytes.enumerated() where byte(b) { mask |= 0x80 << UInt64(lane * 8) }
        return mask
    }

    private func check(_ bytes: [UInt8], line: UInt = #line) {
        let lanes = bytes.withUnsafeBytes { ByteLanes($0.baseAddress!, at: 0) }
        for d in definitions {
            XCTAssertEqual(d.mask(lanes), expected(bytes, d.byte), "\(d.name) of \(bytes)", line: line)
        }
    }

    func testEveryByteInEveryLaneBetweenExtremeNeighbours() {
        for filler: UInt8 in [0x00, 0x20, 0x41, 0x7F, 0x80, 0xFF] {
            for lane in 0..<8 {
                for byte in 0...255 {
                    var bytes = [UInt8](repeating: filler, count: 8)
                    bytes[lane] = UInt8(byte)
                    check(bytes)
                }
            }
        }
    }

    func testRandomWords() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            check((0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
    }

    func testLoadsBytesInAddressOrderAtAnyOffset() {
        let bytes: [UInt8] = Array(0..<20)
        bytes.withUnsafeBytes { raw in
            for offset in 0...12 {
                let lanes = ByteLanes(raw.baseAddress!, at: offset)
                XCTAssertEqual(ByteLanes.firstLane(lanes.equal(UInt8(offset + 3))), 3)
            }
        }
    }

    func testLaneArithmetic() {
        let high = ByteLanes.high
        XCTAssertEqual(ByteLanes.leadingRun(high), 8)
        XCTAssertEqual(ByteLanes.leadingRun(0), 0)
        XCTAssertEqual(ByteLanes.leadingRun(0x0000_0000_0080_8080), 3)
        XCTAssertEqual(ByteLanes.leadingRun(0x8080_8080_8080_0080), 1, "a gap ends the run")
        XCTAssertEqual(ByteLanes.firstLane(0), 8)
        XCTAssertEqual(ByteLanes.firstLane(0x8000_0000_0000_8000), 1)
        XCTAssertEqual(ByteLanes.lastLane(0x0000_0000_0000_8080), 1)
        XCTAssertEqual(ByteLanes.lastLane(high), 7)
        XCTAssertEqual(ByteLanes.before(0, high), 0)
        XCTAssertEqual(ByteLanes.before(3, high), 0x0000_0000_0080_8080)
        XCTAssertEqual(ByteLanes.before(7, high), 0x0080_8080_8080_8080)
    }
}
