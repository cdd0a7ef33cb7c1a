import CFuzzDriver
import HTTP1

/// libFuzzer entry: arbitrary bytes as a request head, under the default limits and tight ones.
/// Beyond "never traps", it checks what the proxy relies on: every range the parser returns lies
/// inside the input and inside the head, and the same bytes fed as any shorter prefix never give a
/// different complete answer (the proxy re-parses as bytes arrive).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Request(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let tight = Limits(maxHeadBytes: 256, maxHeaderCount: 8, maxTargetBytes: 64, maxChunkLineBytes: 16,
                       maxTrailerBytes: 64)
    for limits in [Limits.default, tight] {
        var head = RequestHead()
        let result = HTTP1Parser.parseRequestHead(bytes, into: &head, limits: limits)
        guard result == .complete else { continue }
        check(head, size: size)
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
