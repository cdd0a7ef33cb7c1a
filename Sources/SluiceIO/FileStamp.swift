import Glibc

/// What identifies a file's content without reading it: inode, size and modification time, so
/// a reloader (TLS certificates of the proxy and of the observer) sees a renewed or replaced
/// file. A file that cannot be stat'ed has size -1 and the other fields 0.
public struct FileStamp: Equatable, Sendable {
    public var inode: UInt64 = 0
    public var size: Int64 = -1
    public var mtimeNs: Int64 = 0

    /// `stat(path)`'s inode, size and mtime in nanoseconds.
    public init(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        mtimeNs = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }
}
