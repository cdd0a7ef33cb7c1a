internal import SluiceIO

#if canImport(Glibc)
    internal import Glibc
#endif

extension FlowRing {
    /// What makes one ring's records distinct from another's (`FlowUUID`'s seed): the boot ID, the
    /// pinned ring's inode and change time (a re-created ring has new ones), so uuids do not repeat
    /// across rings, and `sluice observe`, the agent's exporter and `sluice-observer` give a record
    /// the same uuid. Without the pin (no agent yet) it is the boot ID alone.
    public static func uuidSeed(pinDirectory: String) -> String {
        var boot = String(decoding: Files.readIfPresent("/proc/sys/kernel/random/boot_id") ?? [], as: UTF8.self)
        while boot.last == "\n" || boot.last == " " { boot.removeLast() }
        var st = stat()
        guard stat(pinDirectory + "/sluice_flows", &st) == 0 else { return boot }
        return boot + "/" + String(st.st_ino) + "/" + String(st.st_ctim.tv_sec) + "." + String(st.st_ctim.tv_nsec)
    }
}
