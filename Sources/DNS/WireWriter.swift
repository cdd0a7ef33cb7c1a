/// An append-only message buffer with an optional name-compression table (RFC 1035 4.1.4).
///
/// Compression keys are exact wire bytes of name suffixes, case included, so names are written
/// back with the case they had (a resolver doing 0x20 case randomisation checks it). `mark()` and
/// `rollback(to:)` undo a record that did not fit, table entries included.
struct WireWriter {
    private(set) var bytes: [UInt8] = []
    let compress: Bool
    private var table: [[UInt8]: UInt16] = [:]
    private var tableLog: [[UInt8]] = []

    /// A position to roll back to.
    struct Mark {
        fileprivate let count: Int
        fileprivate let logCount: Int
    }

    init(compress: Bool, capacity: Int = 512) {
        self.compress = compress
        bytes.reserveCapacity(capacity)
    }

    var count: Int { bytes.count }

    func mark() -> Mark {
        Mark(count: bytes.count, logCount: tableLog.count)
    }

    mutating func rollback(to mark: Mark) {
        bytes.removeSubrange(mark.count...)
        while tableLog.count > mark.logCount, let key = tableLog.popLast() {
            table[key] = nil
        }
    }

    mutating func writeU8(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func writeU16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    mutating func writeU32(_ value: UInt32) {
        writeU16(UInt16(value >> 16))
        writeU16(UInt16(value & 0xFFFF))
    }

    mutating func writeBytes(_ value: [UInt8]) {
        bytes.append(contentsOf: value)
    }

    /// Overwrites two bytes already written.
    mutating func patchU16(_ value: UInt16, at offset: Int) {
        guard offset >= 0, offset + 1 < bytes.count else { return }
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(value & 0xFF)
    }

    /// Writes a name. With `compressible` and compression on, the longest suffix already written
    /// becomes a pointer; every suffix written at an offset a pointer can reach is remembered.
    mutating func writeName(_ name: DomainName, compressible: Bool) {
        let wire = name.wireBytes
        let useTable = compress && compressible
        var index = 0
        while index < wire.count, wire[index] != 0 {
            if useTable {
                let suffix = Array(wire[index...])
                if let target = table[suffix] {
                    writeU16(0xC000 | target)
                    return
                }
                if bytes.count <= DNSLimits.maxPointerOffset {
                    table[suffix] = UInt16(bytes.count)
                    tableLog.append(suffix)
                }
            }
            let end = index + 1 + Int(wire[index])
            bytes.append(contentsOf: wire[index..<end])
            index = end
        }
        bytes.append(0)
    }
}
