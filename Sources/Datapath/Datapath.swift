internal import CLibbpf
internal import CSluice
internal import CSluiceShared
internal import SluiceIO

#if canImport(Glibc)
    internal import Glibc
#endif

/// The node's BPF datapath: the loaded `tc_endpoint` and `sk_lookup` programs and the pinned
/// maps they share (see `docs/architecture.md`, "Steering").
///
/// `open` loads both objects from `bpf/`; the maps are pinned under `pinDirectory` and reused by
/// every later load, so an agent restart keeps endpoints, L7 ports, steered flows and the flow
/// ring. Attachments outlive the process: tc filters stay on the veths and the sk_lookup link
/// stays pinned, so steered ports fail closed while the agent is down.
///
/// Attach, detach and `close()` must come from one thread (the agent's control thread); the map
/// calls are single syscalls on fds fixed at `open` and may be made from any thread (hence
/// `@unchecked Sendable`). `close()` (idempotent, also run by `deinit`) releases the fds this
/// process holds.
public final class Datapath: @unchecked Sendable {
    /// The file name of the pinned sk_lookup link inside the pin directory.
    static let skLookupLinkName = "sk_lookup_link"
    /// Object file names inside `objectDirectory` (built by `make -C bpf`).
    static let tcObjectName = "tc_endpoint.o"
    static let skLookupObjectName = "sk_lookup.o"
    /// C function names of the programs.
    static let tcProgramName = "sluice_tc_endpoint"
    static let skLookupProgramName = "sluice_sk_lookup"

    /// The default pin directory (`SLUICE_PIN_DIR`).
    public static let defaultPinDirectory = "/sys/fs/bpf/sluice"

    /// Where the maps and the sk_lookup link are pinned.
    public let pinDirectory: String

    let tcObject: BPFObject
    private let skLookupObject: BPFObject
    /// The loaded programs (fds owned by their objects).
    let tcProgramFD: Int32
    let skLookupProgramFD: Int32
    let skLookupProgram: OpaquePointer
    /// Map fds (owned by `tcObject`; the same kernel maps as `skLookupObject`'s).
    let endpointsFD: Int32
    let vethsFD: Int32
    let l7PortsFD: Int32
    let steeredFD: Int32
    let proxySocksFD: Int32
    /// The DNS deny cache (`sluice_dns_deny`) and tc's per-CPU count of the queries it answered
    /// from it (`sluice_dns_stats`); the generation is mapped into `steeringEpoch`.
    let dnsDenyFD: Int32
    let dnsStatsFD: Int32
    /// Bumped after every write to the maps that decide steering (endpoints, L7 ports, ipcache),
    /// so the proxies' per-worker steering caches know when to forget (`SteeringEpoch`).
    public let steeringEpoch = SteeringEpoch()
    /// The sk_lookup link this process attached or re-opened from its pin; -1 when none.
    var skLookupLinkFD: Int32 = -1

    private init(pinDirectory: String, tcObject: BPFObject, skLookupObject: BPFObject) throws {
        self.pinDirectory = pinDirectory
        self.tcObject = tcObject
        self.skLookupObject = skLookupObject
        tcProgramFD = try tcObject.programFD(named: Datapath.tcProgramName)
        skLookupProgram = try skLookupObject.program(named: Datapath.skLookupProgramName)
        skLookupProgramFD = try skLookupObject.programFD(named: Datapath.skLookupProgramName)
        endpointsFD = try tcObject.mapFD(named: "sluice_endpoints")
        vethsFD = try tcObject.mapFD(named: "sluice_veths")
        l7PortsFD = try tcObject.mapFD(named: "sluice_l7_ports")
        steeredFD = try tcObject.mapFD(named: "sluice_steered")
        proxySocksFD = try tcObject.mapFD(named: "sluice_proxy_socks")
        dnsDenyFD = try tcObject.mapFD(named: "sluice_dns_deny")
        dnsStatsFD = try tcObject.mapFD(named: "sluice_dns_stats")
        steeringEpoch.attachDenyGeneration(try Datapath.mapDenyGeneration(try tcObject.mapFD(named: "sluice_dns_gen")))
    }

    deinit { close() }

    /// Mounts bpffs on `/sys/fs/bpf` if needed, creates `pinDirectory`, and opens and loads
    /// `tc_endpoint.o` and `sk_lookup.o` from `objectDirectory`, reusing the maps already
    /// pinned in `pinDirectory` (or creating and pinning them). Attaches nothing.
    /// `mapMaxEntries` gives maps (by name) another size than bpf/ declares: a test knob
    /// (`sluice-agent --map-max-entries`), so that a map can be made to fill up.
    public static func open(
        objectDirectory: String, pinDirectory: String = defaultPinDirectory,
        mapMaxEntries: [String: UInt32] = [:]
    ) throws -> Datapath {
        try BPFFilesystem.ensureMounted()
        try BPFFilesystem.makeDirectories(pinDirectory)
        let tc = try BPFObject(
            path: objectDirectory + "/" + tcObjectName, pinRoot: pinDirectory,
            maxEntries: mapMaxEntries)
        let sk = try BPFObject(
            path: objectDirectory + "/" + skLookupObjectName, pinRoot: pinDirectory,
            maxEntries: mapMaxEntries)
        // The flow ring is this build's before any of its programs or its proxy writes a record.
        if let found = try FlowRing.adopt(pinDirectory: pinDirectory) {
            fputs(
                "sluice: the pinned flow ring held records of layout \(found); they were dropped "
                    + "(this build writes layout \(FlowRing.layout))\n", stderr)
        }
        return try Datapath(pinDirectory: pinDirectory, tcObject: tc, skLookupObject: sk)
    }

    /// Locks `pinDirectory` for this process (creating it, and mounting bpffs, if needed) and
    /// returns the descriptor holding the lock: the agent calls it before `open`, so a second
    /// agent started on the same pins fails instead of replacing the first one's policy maps and
    /// sk_lookup link. Waits up to `waitMs` for a previous agent to exit.
    public static func lockPinDirectory(_ pinDirectory: String = defaultPinDirectory, waitMs: Int = 10_000) throws
        -> Int32
    {
        try BPFFilesystem.ensureMounted()
        return try BPFFilesystem.lockDirectory(pinDirectory, waitMs: waitMs)
    }

    /// Closes the link fd and both objects. Attachments and pins stay. Safe to call twice.
    public func close() {
        if skLookupLinkFD >= 0 {
            Glibc.close(skLookupLinkFD)
            skLookupLinkFD = -1
        }
        tcObject.close()
        skLookupObject.close()
    }

    /// Removes everything Sluice pinned under `pinDirectory` (maps and the sk_lookup link, which
    /// detaches it once no process holds it) and the directory itself. tc filters are not
    /// touched: deleting the veths removes them. Missing pins are not an error.
    public static func unpinAll(pinDirectory: String = defaultPinDirectory) throws {
        for name in BPFFilesystem.pinnedNames {
            try BPFFilesystem.unpin(pinDirectory + "/" + name)
        }
        // Maps a newer build pinned (a name this build does not list) must not keep the
        // directory from going away.
        let leftovers = Files.list(pinDirectory)
        for name in leftovers where name.hasPrefix("sluice_") {
            try BPFFilesystem.unpin(pinDirectory + "/" + name)
        }
        if rmdir(pinDirectory) != 0, Glibc.errno != ENOENT {
            throw DatapathError.fromErrno("rmdir", pinDirectory)
        }
    }
}
