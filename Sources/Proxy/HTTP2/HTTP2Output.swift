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

    /// One write of `output` to `fd` (a `SluiceIO` step): consumes what the socket took and clears
    /// `writable` when it took less than all or would block. Whether bytes went out; nil when the
    /// peer is gone.
    static func write(_ fd: Int32, _ output: IOBuffer, writable: inout Bool, side: PeerSide) -> Bool? {
        switch Socket.writeStep(fd, output.readable, side: side) {
        case .progress(let n):
            if n < output.readableCount { writable = false }
            output.consume(n)
            return true
        case .blocked:
            writable = false
            return false
        case .closed:
            return nil
        }
    }
}
