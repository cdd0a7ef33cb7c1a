import HTTP1
import HTTP2

/// HTTP/2 `:path` through the same `PathNormalizer` as HTTP/1 before matching (docs/policy.md,
/// "What an HTTP/1 rule sees"): the rule and the upstream see the normalised path; an encoded
/// slash or backslash is a 307 (400 for gRPC, as Envoy answers); a fragment or bad escape is 400.
/// Header names with `_` get the same `HeadersWithUnderscoresAction` as HTTP/1. Before that,
/// `:authority` and `host` must agree (`HTTP2AuthorityCheck`, 400 when not).
enum HTTP2PathCheck {
    enum Outcome {
        /// Forward this block (the received one, or a copy with `:path` normalised).
        case forward(HTTP2HeaderBlock)
        /// Answer 400.
        case reject
        /// Answer 307 with this `location`.
        case redirect([UInt8])
    }

    static func check(_ block: HTTP2HeaderBlock, underscores: HeadersWithUnderscoresAction = .allow) -> Outcome {
        // :authority and host must agree; then only :authority is kept (HTTP2AuthorityCheck).
        guard case .forward(var block) = HTTP2AuthorityCheck.check(block) else { return .reject }
        if underscores != .allow {
            let hasUnderscore = { (f: HTTP2HeaderBlock.Field) in
                block.storage[f.name].first != 0x3A && block.storage[f.name].contains(0x5F)
            }
            if block.fields.contains(where: hasUnderscore) {
                if underscores == .rejectRequest { return .reject }
                block = block.filtered { name, _ in name.first != 0x3A && name.contains(0x5F) }
            }
        }
        guard let index = block.fields.firstIndex(where: { block.storage[$0.name].elementsEqual(Self.pathName) })
        else { return .forward(block) }
        let range = block.fields[index].value
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: range.count + 1, alignment: 1)
        defer { output.deallocate() }
        let result: Result<PathNormalizer.Outcome, ParseError> = block.storage.withUnsafeBytes { bytes in
            do throws(ParseError) {
                return .success(
                    try PathNormalizer.normalize(UnsafeRawBufferPointer(rebasing: bytes[range]), into: output))
            } catch {
                return .failure(error)
            }
        }
        guard case .success(let outcome) = result else { return .reject }
        switch outcome {
        case .unchanged:
            return .forward(block)
        case .redirect(let length):
            return .redirect(Array(output[..<length]))
        case .normalized(let length):
            var copy = HTTP2HeaderBlock()
            for (i, field) in block.fields.enumerated() {
                block.storage.withUnsafeBytes { bytes in
                    let name = UnsafeRawBufferPointer(rebasing: bytes[field.name])
                    if i == index {
                        copy.append(name: name, value: UnsafeRawBufferPointer(rebasing: output[..<length]))
                    } else {
                        copy.append(name: name, value: UnsafeRawBufferPointer(rebasing: bytes[field.value]))
                    }
                }
            }
            return .forward(copy)
        }
    }

    private static let pathName: [UInt8] = Array(":path".utf8)
}
