import CFuzzDriver
import HTTP1

/// libFuzzer entry: the first two bytes choose a split point, the rest is a chunked body (and
/// whatever follows it). The scanner must give the same answer whether the bytes come in one run
/// or in two runs split there, `.done(n)` must lie inside the run, and a finished or failed
/// scanner must stay so.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChunked(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let body = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    let split = (Int(data[0]) << 8 | Int(data[1])) % (body.count + 1)
    let limits = Limits(maxHeadBytes: 8192, maxHeaderCount: 16, maxTargetBytes: 1024, maxChunkLineBytes: 32,
                        maxTrailerBytes: 128)

    var whole = ChunkedScanner(limits: limits)
    let one = whole.scan(body)
    if case .done(let n) = one { precondition(n > 0 && n <= body.count) }

    var parts = ChunkedScanner(limits: limits)
    let first = parts.scan(UnsafeRawBufferPointer(rebasing: body[..<split]))
    let combined: ChunkedScanner.Result
    switch first {
    case .needMore:
        switch parts.scan(UnsafeRawBufferPointer(rebasing: body[split...])) {
        case .done(let n): combined = .done(split + n)
        case let other: combined = other
        }
    case .done, .error:
        combined = first
    }
    switch (one, combined) {
    case (.done(let a), .done(let b)): precondition(a == b, "end differs when split at \(split)")
    case (.needMore, .needMore), (.error, .error): break
    default: preconditionFailure("one run gives \(one), split at \(split) gives \(combined)")
    }
    // Sticky end states.
    let after = whole.scan(body)
    switch one {
    case .done: precondition(after == .done(0))
    case .error: precondition(after == one)
    case .needMore: break
    }
    return 0
}

/// The executable's entry (see CFuzzDriver.h): libFuzzer's driver with this target's callback.
@_cdecl("FuzzChunked_main")
public func fuzzChunkedMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzChunked(data, size)
    }
}
