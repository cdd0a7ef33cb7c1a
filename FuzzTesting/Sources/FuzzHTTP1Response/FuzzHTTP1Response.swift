import CFuzzDriver
import HTTP1

/// libFuzzer entry: the first byte chooses whether the request was HEAD, the rest is a response
/// head. Checks that returned ranges lie inside the head, that the head parses identically
/// without what follows it, that bodiless answers (HEAD, 1xx, 204, 304) have no framing, and that
/// the byte-loop parser the word-at-a-time scan replaced (`ByteLoopParser`) gives the same answer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Response(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let isHEAD = data[0] & 1 == 1
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var head = ResponseHead()
    let result = HTTP1Parser.parseResponseHead(bytes, requestMethodIsHEAD: isHEAD, into: &head)
    // The parser before the word-at-a-time scan (ByteLoopParser.swift) decides the same.
    var reference = ResponseHead()
    precondition(
        ByteLoopParser.parseResponseHead(bytes, requestMethodIsHEAD: isHEAD, into: &reference) == result,
        "verdict differs")
    guard result == .complete else { return 0 }
    precondition(reference == head, "head differs from the byte-loop parser's")
    precondition(head.headLength > 0 && head.headLength <= bytes.count)
    for field in head.headers {
        precondition(field.name.upperBound <= head.headLength && field.value.upperBound <= head.headLength)
        precondition(field.name.lowerBound >= 0 && field.value.lowerBound >= 0)
    }
    precondition(head.status >= 100 && head.status <= 999)
    if isHEAD || head.status < 200 || head.status == 204 || head.status == 304 {
        precondition(head.framing == .none, "bodiless response with body framing")
    }
    var again = ResponseHead()
    let prefix = UnsafeRawBufferPointer(rebasing: bytes[..<head.headLength])
    precondition(HTTP1Parser.parseResponseHead(prefix, requestMethodIsHEAD: isHEAD, into: &again) == .complete)
    precondition(again == head, "head differs when parsed without the bytes after it")
    return 0
}

/// The executable's entry (see CFuzzDriver.h): libFuzzer's driver with this target's callback.
@_cdecl("FuzzHTTP1Response_main")
public func fuzzHTTP1ResponseMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzHTTP1Response(data, size)
    }
}
