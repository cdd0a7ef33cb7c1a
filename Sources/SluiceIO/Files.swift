import Glibc

/// Whole-file reads and atomic writes for the agent's state files (POSIX, no Foundation).
public enum Files {
    /// The file's bytes.
    public static func read(_ path: String) throws(SyscallError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SyscallError("open(\(path))", errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 0 { bytes.reserveCapacity(Int(st.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SyscallError("read(\(path))", errno: errno)
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }

    /// The file's bytes, or nil when it does not exist or cannot be read.
    public static func readIfPresent(_ path: String) -> [UInt8]? {
        try? read(path)
    }

    /// Replaces `path` with `bytes` atomically (`AtomicWriter`). A reader sees the old or the new
    /// content, never a part.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(SyscallError) {
        let file = try AtomicWriter(path: path, mode: mode)
        try file.write(bytes[...])
        try file.commit()
    }

    /// A file replaced atomically: written piece by piece to a temporary file beside `path`
    /// (`path.tmp.PID`), then fsynced and renamed over `path` by `commit()`, so a reader sees the
    /// old or the new content, never a part. The temporary file is removed if a write or the
    /// commit fails, or if the writer is dropped before `commit()`. Owns its fd (closed by
    /// `commit()` or on failure); one thread at a time.
    public final class AtomicWriter {
        public let path: String
        private let temporary: String
        private var fd: Int32

        public init(path: String, mode: mode_t = 0o644) throws(SyscallError) {
            self.path = path
            temporary = path + ".tmp.\(getpid())"
            fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
            if fd < 0 { throw SyscallError("open(\(temporary))", errno: errno) }
        }

        deinit { discard() }

        /// Appends `bytes` (retrying short writes and `EINTR`).
        public func write(_ bytes: ArraySlice<UInt8>) throws(SyscallError) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    let e = errno
                    discard()
                    throw SyscallError("write(\(temporary))", errno: e)
                }
                offset += n
            }
        }

        /// fsync, close, rename over `path`. Once only.
        public func commit() throws(SyscallError) {
            guard fd >= 0 else { throw SyscallError("write(\(temporary))", errno: EBADF) }
            let fd = self.fd
            self.fd = -1
            if fsync(fd) != 0 || close(fd) != 0 {
                let e = errno
                unlink(temporary)
                throw SyscallError("fsync(\(temporary))", errno: e)
            }
            if rename(temporary, path) != 0 {
                let e = errno
                unlink(temporary)
                throw SyscallError("rename(\(temporary), \(path))", errno: e)
            }
        }

        private func discard() {
            guard fd >= 0 else { return }
            close(fd)
            unlink(temporary)
            fd = -1
        }
    }

    /// `mkdir -p`.
    public static func createDirectories(_ path: String, mode: mode_t = 0o755) throws(SyscallError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, mode) != 0 && errno != EEXIST {
                throw SyscallError("mkdir(\(prefix))", errno: errno)
            }
        }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw SyscallError("mkdir(\(path))", errno: ENOTDIR)
        }
    }

    /// The names in a directory (without `.` and `..`), unsorted; empty when it cannot be read.
    public static func list(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes the file at `path`; returns whether it was there and is gone.
    @discardableResult
    public static func remove(_ path: String) -> Bool {
        unlink(path) == 0
    }

    /// Whether `path` exists (any file type).
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The running executable's path (`/proc/self/exe`).
    public static func executablePath() -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directory part of a path (`/a/b/c` -> `/a/b`, `c` -> `.`).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `SLUICE_HOME`, else the nearest directory above the executable holding Package.swift (the
    /// repository the binary was built in), else the working directory.
    public static func repositoryRoot(
        environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }
    ) -> String {
        if let home = environment("SLUICE_HOME"), !home.isEmpty { return home }
        if let exe = executablePath() {
            var dir = directory(of: exe)
            while dir != "/" && dir != "." {
                if exists(dir + "/Package.swift") { return dir }
                dir = directory(of: dir)
            }
        }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return getcwd(&buf, buf.count) != nil ? String(cString: buf) : "."
    }
}
