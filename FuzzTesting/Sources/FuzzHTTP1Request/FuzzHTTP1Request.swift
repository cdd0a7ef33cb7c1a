import CFuzzDriver
import HTTP1

/// libFuzzer entry: arbitrary bytes as a request head, under the default limits and tight ones.
/// Beyond "never traps", it checks what the proxy relies on: every range the parser returns lies
/// inside the input and inside the head, and the same bytes fed as any shorter prefix never give a
/// different complete answer (the proxy re-parses as bytes arrive); and the byte-loop parser the
/// word-at-a-time scan replaced (`ByteLoopParser`) gives the same answer and head.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Request(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let tight = Limits(maxHeadBytes: 256, maxHeaderCount: 8, maxTargetBytes: 64, maxChunkLineBytes: 16,
                       maxTrailerBytes: 64)
    for limits in [Limits.default, tight] {
        var head = RequestHead()
        let result = HTTP1Parser.parseRequestHead(bytes, into: &head, limits: limits)
        // The parser before the word-at-a-time scan (ByteLoopParser.swift) decides the same.
        var reference = RequestHead()
        let expected = ByteLoopParser.parseRequestHead(bytes, into: &reference, limits: limits)
        precondition(expected == result, "verdict differs from the byte-loop parser's")
        precondition(result != .complete || reference == head, "head differs from the byte-loop parser's")
        checkReader(bytes, limits: limits, expected: result, head: head)
        guard result == .complete else { continue }
        check(head, size: size)
        checkTarget(UnsafeRawBufferPointer(rebasing: bytes[head.target]))
        if let host = head.host { try? Authority.validate(UnsafeRawBufferPointer(rebasing: bytes[host])) }
        // The complete head alone parses the same way.
        var again = RequestHead()
        let prefix = UnsafeRawBufferPointer(rebasing: bytes[..<head.headLength])
        precondition(HTTP1Parser.parseRequestHead(prefix, into: &again, limits: limits) == .complete)
        precondition(again == head, "head differs when parsed without the bytes after it")
        // One byte short is never complete.
        if head.headLength > 0 {
            let short = UnsafeRawBufferPointer(rebasing: bytes[..<(head.headLength - 1)])
            precondition(HTTP1Parser.parseRequestHead(short, into: &again, limits: limits) != .complete)
        }
    }
    return 0
}

/// `RequestHeadReader` fed the same bytes in pieces whose sizes come from the input ends with the
/// parser's answer on the whole (a complete head identical to it), in O(n) work.
private func checkReader(_ bytes: UnsafeRawBufferPointer, limits: Limits, expected: HeadResult, head: RequestHead) {
    var reader = RequestHeadReader()
    var got = RequestHead()
    var n = 0
    var result = HeadResult.needMore
    var step = 1
    while n < bytes.count {
        step = Int(bytes[n] & 0x0F) + 1
        n = min(n + step, bytes.count)
        result = reader.parse(UnsafeRawBufferPointer(rebasing: bytes[..<n]), into: &got, limits: limits)
        if result != .needMore { break }
    }
    precondition(reader.work <= 8 * max(n, 64), "reader work \(reader.work) for \(n) bytes")
    if case .complete = expected {
        precondition(result == .complete && got == head, "reader disagrees with the parser")
    }
    if case .complete = result { precondition(expected == .complete, "reader completes where the parser does not") }
}

/// `PathNormalizer` on a parsed target: never traps, never grows past its storage, and what it
/// returns is canonical (normalising it again changes nothing).
private func checkTarget(_ target: UnsafeRawBufferPointer) {
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: PathNormalizer.outputCapacity(for: target),
                                                        alignment: 1)
    defer { output.deallocate() }
    guard case .normalized(let length)? = try? PathNormalizer.normalize(target, into: output) else { return }
    let again = UnsafeMutableRawBufferPointer.allocate(byteCount: length + 1, alignment: 1)
    defer { again.deallocate() }
    let second = try? PathNormalizer.normalize(UnsafeRawBufferPointer(rebasing: output[..<length]), into: again)
    precondition(second == .unchanged, "normalised path is not canonical")
}

private func check(_ head: RequestHead, size: Int) {
    precondition(head.headLength > 0 && head.headLength <= size)
    let inside = { (r: Range<Int>) in precondition(r.lowerBound >= 0 && r.upperBound <= head.headLength) }
    inside(head.method)
    inside(head.target)
    precondition(!head.method.isEmpty && !head.target.isEmpty)
    if let host = head.host { inside(host) }
    for field in head.headers {
        inside(field.name)
        inside(field.value)
    }
}

/// The executable's entry (see CFuzzDriver.h): libFuzzer's driver with this target's callback.
@_cdecl("FuzzHTTP1Request_main")
public func fuzzHTTP1RequestMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzHTTP1Request(data, size)
    }
}
