import CFuzzDriver
import HTTP2
import SluiceModel

/// libFuzzer entry: arbitrary bytes as what a client sends to the proxy's server-side HTTP/2
/// session (nghttp2 under the proxy's callbacks and flood guard), fed in two pieces split at
/// byte 0's value. The session must reject or accept them, never trap; whatever it answers is
/// drained, and events are answered the way the proxy answers a request (a response with a body)
/// so response paths run too. Time is a counter, so rate limits are reached deterministically.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP2(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    guard let session = try? HTTP2Session(role: .server, clock: SteppingClock()) else { return 0 }
    defer { session.close() }
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let split = min(Int(data[0]) * 4, bytes.count)
    for piece in [UnsafeRawBufferPointer(rebasing: bytes[..<split]), UnsafeRawBufferPointer(rebasing: bytes[split...])] {
        do {
            try session.receive(piece)
        } catch {
            _ = error.isFlood
            break
        }
        for event in session.takeEvents() {
            if case .headers(let stream, _, .request, _) = event {
                try? session.submitResponse(stream: stream, HTTP2HeaderBlock([(":status", "200")]), hasBody: true)
                _ = session.append(stream: stream, Array("ok".utf8))
                session.end(stream: stream)
            }
        }
        while let chunk = try? session.produce(), chunk != nil {}
    }
    _ = session.guardian.violation
    return 0
}

/// The fuzz run's time: 1 ms later at every reading, so the flood guard's one-second windows turn
/// over within one input.
final class SteppingClock: Clock, @unchecked Sendable {
    private var now: UInt64 = 0

    func nowNs() -> UInt64 {
        now += 1_000_000
        return now
    }

    var movesByItself: Bool { true }
}

/// The executable's entry (see CFuzzDriver.h): libFuzzer's driver with this target's callback.
@_cdecl("FuzzHTTP2_main")
public func fuzzHTTP2Main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzzHTTP2(data, size)
    }
}
