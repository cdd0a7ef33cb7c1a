import CSluiceShared
import Datapath
import Glibc

/// A datapath loaded from bpf/*.o into a pin directory of its own, so a test has a real pinned
/// flow ring to write and the observer to read; `close()` unpins it. Needs root and bpffs (the
/// tests fail loudly without them).
final class TestRing {
    let pinDirectory: String
    let datapath: Datapath
    let writer: FlowRing

    init() throws {
        pinDirectory = "/sys/fs/bpf/sluice-obstest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var parts = #filePath.split(separator: "/").map(String.init)
        parts.removeLast(3)
        datapath = try Datapath.open(
            objectDirectory: "/" + parts.joined(separator: "/") + "/bpf", pinDirectory: pinDirectory)
        writer = try FlowRing.openForWriting(pinDirectory: pinDirectory)
    }

    /// Appends an IPv4 TCP record 10.244.1.11:port -> 10.244.1.12:80, verdict forwarded.
    func appendTCP(srcPort: UInt16, verdict: UInt8 = 1) {
        writer.append { rec in
            rec.pointee.time_ns = 1
            rec.pointee.ip_version = 4
            rec.pointee.l4_proto = 6
            rec.pointee.verdict = verdict
            rec.pointee.src_port = srcPort
            rec.pointee.dst_port = 80
            withUnsafeMutableBytes(of: &rec.pointee.src_ip) { $0.copyBytes(from: [10, 244, 1, 11]) }
            withUnsafeMutableBytes(of: &rec.pointee.dst_ip) { $0.copyBytes(from: [10, 244, 1, 12]) }
        }
    }

    func close() {
        writer.close()
        datapath.close()
        try? Datapath.unpinAll(pinDirectory: pinDirectory)
    }
}
