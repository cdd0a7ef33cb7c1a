internal import CLibbpf
internal import CSluice

#if canImport(Glibc)
    internal import Glibc
#endif

/// Owner of one loaded `struct bpf_object` (one `.o` from `bpf/`). Maps declared with
/// `LIBBPF_PIN_BY_NAME` are reused from, or pinned at, `<pinRoot>/<map name>`, so every object
/// loaded with the same pin root shares the same maps.
///
/// `close()` (idempotent; also run by `deinit`) calls `bpf_object__close`, which closes the
/// object's program and map fds. Attached tc filters and pinned links keep their programs alive
/// in the kernel, pinned maps keep their contents.
final class BPFObject {
    private var object: OpaquePointer?
    /// The path of the object file, for errors.
    let path: String

    /// Opens and loads the object at `path` (`bpf_object__open_file` + `bpf_object__load`).
    /// `maxEntries` overrides the size of maps by name before load (`bpf_map__set_max_entries`;
    /// a test knob: a pinned map of another size is then recreated); names the object does not
    /// have are ignored.
    init(path: String, pinRoot: String, maxEntries: [String: UInt32] = [:]) throws {
        self.path = path
        guard let object = CSluice_bpf_object_open(path, pinRoot) else {
            throw DatapathError.fromErrno("bpf_object__open_file", path)
        }
        for (name, entries) in maxEntries.sorted(by: { $0.key < $1.key }) {
            guard let map = bpf_object__find_map_by_name(object, name) else { continue }
            let status = bpf_map__set_max_entries(map, entries)
            if status < 0 {
                bpf_object__close(object)
                throw DatapathError(call: "bpf_map__set_max_entries", errno: -status, context: "\(path): \(name)")
            }
        }
        // A map pinned by an older build with another definition (a resized flow ring, say) is
        // dropped and recreated: its contents are state the agent rebuilds (policy, ipcache) or
        // history (flows, conntrack), and the alternative is an agent that cannot start.
        let stale = CSluice_bpf_object_unpin_stale(object) { pin in
            if let pin {
                fputs("sluice: pinned map \(String(cString: pin)) has another definition; recreating it\n", stderr)
            }
        }
        if stale < 0 {
            bpf_object__close(object)
            throw DatapathError(call: "bpf_obj_get_info_by_fd", errno: -stale, context: path)
        }
        let loaded = bpf_object__load(object)
        if loaded < 0 {
            bpf_object__close(object)
            throw DatapathError(call: "bpf_object__load", errno: -loaded, context: path)
        }
        self.object = object
    }

    deinit { close() }

    /// Closes the object and every fd it owns. Safe to call twice.
    func close() {
        if let object {
            bpf_object__close(object)
        }
        object = nil
    }

    /// The `struct bpf_program *` of the program whose C function is `name`.
    func program(named name: String) throws -> OpaquePointer {
        guard let object, let program = bpf_object__find_program_by_name(object, name) else {
            throw DatapathError(call: "bpf_object__find_program_by_name", errno: ENOENT, context: "\(path): \(name)")
        }
        return program
    }

    /// The fd of the loaded program `name`; owned by this object.
    func programFD(named name: String) throws -> Int32 {
        let fd = bpf_program__fd(try program(named: name))
        return try DatapathError.check(fd, "bpf_program__fd", "\(path): \(name)")
    }

    /// The fd of the map `name`; owned by this object.
    func mapFD(named name: String) throws -> Int32 {
        guard let object else {
            throw DatapathError(call: "bpf_object__find_map_fd_by_name", errno: EBADF, context: name)
        }
        let fd = bpf_object__find_map_fd_by_name(object, name)
        return try DatapathError.check(fd, "bpf_object__find_map_fd_by_name", "\(path): \(name)")
    }
}
