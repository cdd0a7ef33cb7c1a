internal import CLibbpf
internal import CSluiceShared

#if canImport(Glibc)
    internal import Glibc
#endif

/// One policy install into the maps, all or nothing: the writes of a `PolicyInstallPlan`, each
/// recorded with what its entry held before, so that a failed install (a full map: `E2BIG`
/// from a hash map, `ENOSPC` from the ipcache trie; any other error) is undone write by write,
/// in reverse order, through states the install already went through, back to exactly what the
/// maps held. Control thread only; the caller serialises it with every other writer of these
/// maps (the agent's `FQDNPolicyWriter` lock).
extension Datapath {
    /// What the four policy maps hold (walks each: two syscalls per entry).
    public func policyMaps() throws -> PolicyMaps {
        PolicyMaps(
            l7Ports: try l7Ports(),
            policy: try dumpMap(
                try tcObject.mapFD(named: "sluice_policy"), "sluice_policy",
                key: sluice_policy_key(), value: sluice_policy_value()),
            modes: try dumpMap(
                try tcObject.mapFD(named: "sluice_policy_mode"), "sluice_policy_mode",
                key: sluice_policy_mode_key(), value: sluice_policy_mode()),
            ipcache: try dumpMap(
                try tcObject.mapFD(named: "sluice_ipcache"), "sluice_ipcache",
                key: sluice_ipcache_key(), value: sluice_ipcache_value()))
    }

    /// Makes the policy maps equal to `target` in the order of `PolicyInstallPlan`. Returns the
    /// journal of what it wrote, which can undo the install later (when a step after the maps
    /// fails). When a write fails, what was written is undone before this throws: the maps hold
    /// what they held before, unless the error says the undo failed too.
    public func installPolicy(_ target: PolicyMaps) throws(PolicyInstallError) -> PolicyMapJournal {
        let current: PolicyMaps
        do {
            current = try policyMaps()
        } catch {
            throw PolicyInstallError(
                failure: error as? DatapathError ?? DatapathError(call: "read", errno: EIO),
                detail: "", rollback: nil)
        }
        let plan = PolicyInstallPlan(from: current, to: target)
        let journal = PolicyMapJournal(datapath: self)
        for step in plan.steps {
            do {
                try journal.apply(step.write, undo: step.undo)
            } catch {
                let detail = fullMapDetail(error, write: step.write, target: target)
                do {
                    try journal.rollback()
                } catch let undo {
                    throw PolicyInstallError(failure: error, detail: detail, rollback: undo)
                }
                throw PolicyInstallError(failure: error, detail: detail, rollback: nil)
            }
        }
        return journal
    }

    /// For a map that is full: how many entries it takes and how many the new policy needs.
    private func fullMapDetail(_ error: DatapathError, write: PolicyInstallPlan.Write, target: PolicyMaps) -> String {
        guard error.errno == E2BIG || error.errno == ENOSPC else { return "" }
        let needed: Int
        switch write {
        case .l7: needed = target.l7Ports.count
        case .policy: needed = target.policy.count
        case .mode: needed = target.modes.count
        case .ipcache: needed = target.ipcache.count
        }
        guard let fd = try? tcObject.mapFD(named: error.context) else { return "" }
        var info = bpf_map_info()
        var length = UInt32(MemoryLayout<bpf_map_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { return "" }
        return "\(error.context) is full: it holds \(info.max_entries) entries and the new policy needs \(needed)"
    }

    /// One map write of an install: set (`BPF_ANY`) or delete (absent is not an error).
    func write(_ write: PolicyInstallPlan.Write) throws(DatapathError) {
        switch write {
        case .l7(let key, let value):
            defer { steeringEpoch.changed() }
            try mapWrite(l7PortsFD, "sluice_l7_ports", key, value)
        case .policy(let key, let value):
            try mapWrite(try mapFD("sluice_policy"), "sluice_policy", key, value)
        case .mode(let key, let value):
            try mapWrite(try mapFD("sluice_policy_mode"), "sluice_policy_mode", key, value)
        case .ipcache(let key, let value):
            defer { steeringEpoch.changed() }  // the ipcache gives non-endpoint peers their identity
            try mapWrite(try mapFD("sluice_ipcache"), "sluice_ipcache", key, value)
        }
    }

    private func mapFD(_ name: String) throws(DatapathError) -> Int32 {
        do {
            return try tcObject.mapFD(named: name)
        } catch {
            throw error as? DatapathError
                ?? DatapathError(call: "bpf_object__find_map_fd_by_name", errno: ENOENT, context: name)
        }
    }

    private func mapWrite<K: BitwiseCopyable, V: BitwiseCopyable>(_ fd: Int32, _ name: String, _ key: K, _ value: V?)
        throws(DatapathError)
    {
        var k = key
        if var v = value {
            try DatapathError.checkMapCall(
                bpf_map_update_elem(fd, &k, &v, UInt64(BPF_ANY)), "bpf_map_update_elem", name)
            return
        }
        try deleteTolerant(fd, &k, name)
    }
}

/// The writes one `installPolicy` made, each with the value its entry held before (nil: absent).
/// `rollback()` undoes them newest first, so the maps go back through the states the install
/// passed, each of which is safe (`PolicyInstallPlan`), to exactly what they held before.
/// Control thread only; use it before any other install.
public final class PolicyMapJournal {
    private let datapath: Datapath
    private var undo: [PolicyInstallPlan.Write] = []

    init(datapath: Datapath) {
        self.datapath = datapath
    }

    /// How many writes the install made.
    public var count: Int { undo.count }

    /// Writes `write` and records `undo`, the write that puts its entry back.
    func apply(_ write: PolicyInstallPlan.Write, undo: PolicyInstallPlan.Write) throws(DatapathError) {
        try datapath.write(write)
        self.undo.append(undo)
    }

    /// Undoes every write, newest first. Stops at the first write that cannot be undone (the
    /// maps then hold a state the install went through) and throws its error.
    public func rollback() throws(DatapathError) {
        while let last = undo.last {
            try datapath.write(last)
            undo.removeLast()
        }
    }
}

/// A policy install that did not happen: the map write that failed and, when undoing the
/// writes before it failed too, that error (the maps then hold an intermediate state of the
/// install, which still drops what both policies drop; the next install starts from it).
public struct PolicyInstallError: Error, CustomStringConvertible {
    public let failure: DatapathError
    /// For a full map: which map, how many entries it holds, how many were needed.
    public let detail: String
    public let rollback: DatapathError?

    /// Whether the failure was a full map (`E2BIG`, `ENOSPC`).
    public var isMapFull: Bool { failure.errno == E2BIG || failure.errno == ENOSPC }

    public var description: String {
        var text = detail.isEmpty ? "\(failure)" : "\(detail) (\(failure))"
        if let rollback {
            text += "; undoing the writes before it failed too (\(rollback)): the maps hold part of the new policy"
        } else {
            text += "; the maps were restored to the policy in force"
        }
        return text
    }
}
