import Glibc
import SluiceIO

/// A blocking loopback client for the server tests: connects, sends, and reads while the test
/// turns the server's loop.
enum LoopbackClient {
    static func connect(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(r == 0, "connect")
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Turns `loop` and reads from `fd` until `until` holds for what was read or 2 s pass.
    static func read(_ fd: Int32, loop: EventLoop, until: (String) -> Bool) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<200 {
            loop.runOnce(timeoutMs: 10)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { received += buffer[..<n] }
            let text = String(decoding: received, as: UTF8.self)
            if until(text) || n == 0 { return text }
        }
        return String(decoding: received, as: UTF8.self)
    }
}
