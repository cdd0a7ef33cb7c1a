/// Encodes `DNSMessage` values to wire bytes.
public enum DNSSerializer {
    /// Encodes `message`.
    ///
    /// - Parameters:
    ///   - compress: compress owner names and the names inside CNAME, NS, PTR, MX and SOA rdata
    ///     (RFC 3597 4: only RFC 1035 types may be compressed; SRV targets never are).
    ///   - maxSize: when given, records that would take the message past this size are dropped,
    ///     together with every record after them, and TC is set if an answer or authority record
    ///     was dropped (RFC 2181 9: a missing additional record does not make the reply truncated).
    ///     The header, the questions and the OPT record (RFC 6891 7) are always written.
    /// - Returns: the message; header counts reflect what was written.
    public static func serialize(_ message: DNSMessage, compress: Bool = true, maxSize: Int? = nil) -> [UInt8] {
        var writer = WireWriter(compress: compress, capacity: min(maxSize ?? 512, DNSLimits.maxMessageSize))
        var header = message.header
        writer.writeU16(header.id)
        writer.writeU16(0)
        writer.writeU16(UInt16(min(message.questions.count, Int(UInt16.max))))
        writer.writeU32(0)
        writer.writeU16(0)
        for question in message.questions.prefix(Int(UInt16.max)) {
            writer.writeName(question.name, compressible: true)
            writer.writeU16(question.type.rawValue)
            writer.writeU16(question.class.rawValue)
        }

        let limit = maxSize.map { $0 - (message.opt?.wireSize ?? 0) } ?? Int.max
        var full = false
        let sections = [message.answers, message.authorities, message.additionals]
        var written: [Int] = [0, 0, 0]
        for (section, records) in sections.enumerated() {
            for record in records where !full {
                let mark = writer.mark()
                write(record, to: &writer)
                if writer.count > limit || written[section] == Int(UInt16.max) {
                    writer.rollback(to: mark)
                    full = true
                    if section < 2 { header.tc = true }
                } else {
                    written[section] += 1
                }
            }
        }
        if let opt = message.opt, written[2] < Int(UInt16.max) {
            writer.writeU8(0)
            writer.writeU16(RRType.opt.rawValue)
            writer.writeU16(opt.udpPayloadSize)
            writer.writeU32(opt.ttlField(rcode: header.rcode))
            writer.writeU16(UInt16(truncatingIfNeeded: opt.options.count))
            writer.writeBytes(opt.options)
            written[2] += 1
        }
        writer.patchU16(header.flags, at: 2)
        writer.patchU16(UInt16(written[0]), at: 6)
        writer.patchU16(UInt16(written[1]), at: 8)
        writer.patchU16(UInt16(written[2]), at: 10)
        return writer.bytes
    }

    /// Writes one record; the rdlength is patched once the rdata is written.
    static func write(_ record: ResourceRecord, to writer: inout WireWriter) {
        writer.writeName(record.name, compressible: true)
        writer.writeU16(record.type.rawValue)
        writer.writeU16(record.class.rawValue)
        writer.writeU32(record.ttl)
        let lengthOffset = writer.count
        writer.writeU16(0)
        switch record.rdata {
        case .a(let address):
            writer.writeU32(address.hostOrder)
        case .aaaa(let address):
            writer.writeU32(UInt32(address.high >> 32))
            writer.writeU32(UInt32(address.high & 0xFFFF_FFFF))
            writer.writeU32(UInt32(address.low >> 32))
            writer.writeU32(UInt32(address.low & 0xFFFF_FFFF))
        case .cname(let name), .ns(let name), .ptr(let name):
            writer.writeName(name, compressible: true)
        case .mx(let preference, let exchange):
            writer.writeU16(preference)
            writer.writeName(exchange, compressible: true)
        case .txt(let strings):
            for string in strings {
                writeCharacterString(string, to: &writer)
            }
        case .srv(let priority, let weight, let port, let target):
            writer.writeU16(priority)
            writer.writeU16(weight)
            writer.writeU16(port)
            writer.writeName(target, compressible: false)
        case .soa(let mname, let rname, let serial, let refresh, let retry, let expire, let minimum):
            writer.writeName(mname, compressible: true)
            writer.writeName(rname, compressible: true)
            for value in [serial, refresh, retry, expire, minimum] {
                writer.writeU32(value)
            }
        case .opaque(_, let bytes):
            writer.writeBytes(bytes)
        }
        writer.patchU16(UInt16(truncatingIfNeeded: writer.count - lengthOffset - 2), at: lengthOffset)
    }

    /// A character string is at most 255 bytes (RFC 1035 3.3); longer values are split.
    private static func writeCharacterString(_ string: [UInt8], to writer: inout WireWriter) {
        var start = 0
        repeat {
            let end = min(start + 255, string.count)
            writer.writeU8(UInt8(end - start))
            writer.writeBytes(Array(string[start..<end]))
            start = end
        } while start < string.count
    }
}
