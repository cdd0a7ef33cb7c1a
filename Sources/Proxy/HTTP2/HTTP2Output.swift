import HTTP2
import SluiceIO

/// The write side both HTTP/2 sockets share (the client's `HTTP2Connection` and each
/// `HTTP2Upstream`): frames from the session into the connection's output buffer, then one write.
enum HTTP2Output {
    /// Pulls frames out of `session` into `output` until it holds `highWater` bytes or the session
    /// has nothing more to send. Whether any bytes came; nil when the session failed or the buffer
    /// is full (the connection must end).
    static func produce(_ session: HTTP2Session, into output: IOBuffer, highWater: Int) -> Bool? {
        var progress = false
        while output.readableCount < highWater {
            let chunk: UnsafeRawBufferPointer?
            do { chunk = try session.produce() } catch { return nil }
            guard let chunk else { break }
            guard output.append(chunk) else { return nil }
            progress = true
        }
        return progress
    }

    /// One write of `output` to `link` (a `SluiceIO` step, which keeps the link's `writable`):
    /// consumes what the socket took. `.closed` carries the peer's side and errno.
    static func write(_ output: IOBuffer, to link: HTTP2Link) -> IOStep {
        let step = link.write(output.readable)
        if case .progress(let n) = step { output.consume(n) }
        return step
    }

    /// Whether loop events make a link readable (a hang-up or error is read to learn how it ended).
    static func readable(_ events: UInt32) -> Bool {
        events
            & (EventLoop.Events.readable | EventLoop.Events.hangup | EventLoop.Events.error
                | EventLoop.Events.readHangup) != 0
    }

    /// Whether a write step moved bytes.
    static func wrote(_ step: IOStep) -> Bool {
        if case .progress = step { return true }
        return false
    }
}
