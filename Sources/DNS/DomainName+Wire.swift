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
        try walkName { length, label in
            wire.append(length)
            wire.append(contentsOf: label)
        }
        wire.append(0)
        return DomainName(uncheckedWire: wire)
    }

    /// `readName` without building the name: the same checks in the same order, so the same
    /// errors; leaves the cursor where `readName` does and returns the uncompressed wire length
    /// (the final zero byte included).
    @discardableResult
    mutating func checkName() throws(DNSParseError) -> Int {
        var wireLength = 1
        try walkName { length, _ in wireLength += 1 + Int(length) }
        return wireLength
    }

    /// Walks the name at `offset` (following pointers as `readName` documents), giving `label`
    /// each label's length byte and bytes in order, and leaves the cursor after the name.
    @inline(__always)
    private mutating func walkName(_ label: (UInt8, UnsafeRawBufferPointer) -> Void) throws(DNSParseError) {
        var wireLength = 0
        var position = offset
        var segmentStart = position
        var resumeAt: Int?
        var pointers = 0
        while true {
            let length = try byte(at: position)
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    try seek(to: resumeAt ?? position + 1)
                    return
                }
                let count = Int(length)
                guard position + 1 + count <= bytes.count else { throw .truncated }
                guard wireLength + 1 + count + 1 <= DNSLimits.maxNameWireLength else { throw .nameTooLong }
                label(length, UnsafeRawBufferPointer(rebasing: bytes[position + 1..<position + 1 + count]))
                wireLength += 1 + count
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
