/// Reading names from a message: decompression with the checks miekg/dns applies.
extension WireReader {
    /// Reads a possibly compressed name at `offset` and leaves the cursor after it (after the
    /// first pointer when the name is compressed).
    ///
    /// Pointers must point into the message body (not the header) and strictly before the start
    /// of the labels read so far, so positions only decrease and no loop is possible; at most
    /// `DNSLimits.maxCompressionPointers` are followed.
    mutating func readName() throws(DNSParseError) -> DomainName {
        var wire: [UInt8] = []
        wire.reserveCapacity(32)
        var position = offset
        var segmentStart = position
        var resumeAt: Int?
        var pointers = 0
        while true {
            let length = try byte(at: position)
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    wire.append(0)
                    try seek(to: resumeAt ?? position + 1)
                    return DomainName(uncheckedWire: wire)
                }
                let count = Int(length)
                guard position + 1 + count <= bytes.count else { throw .truncated }
                guard wire.count + 1 + count + 1 <= DNSLimits.maxNameWireLength else { throw .nameTooLong }
                wire.append(length)
                wire.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position + 1..<position + 1 + count]))
                position += 1 + count
            case 0xC0:
                let low = try byte(at: position + 1)
                let target = Int(length & 0x3F) << 8 | Int(low)
                pointers += 1
                try DNSLimits.checkPointer(
                    to: target, number: pointers, at: position, segmentStart: segmentStart, messageLength: bytes.count)
                if resumeAt == nil { resumeAt = position + 2 }
                segmentStart = target
                position = target
            default:
                throw .badLabelType
            }
        }
    }

    /// Steps over a name without building it: checks label types and lengths and that a pointer
    /// is complete, not where it points. Returns true when the name is the root (a lone zero byte).
    @discardableResult
    mutating func skipName() throws(DNSParseError) -> Bool {
        let start = offset
        var wireLength = 0
        while true {
            let length = try readU8()
            switch length & 0xC0 {
            case 0x00:
                if length == 0 { return offset == start + 1 }
                wireLength += 1 + Int(length)
                guard wireLength + 1 <= DNSLimits.maxNameWireLength else { throw .nameTooLong }
                try skip(Int(length))
            case 0xC0:
                try skip(1)
                return false
            default:
                throw .badLabelType
            }
        }
    }
}
