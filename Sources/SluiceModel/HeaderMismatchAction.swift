internal import CSluiceShared

/// What the proxy does with a `headerMatches` entry whose `mismatch` is set when the rest of the
/// rule matched and the header did not (cilium/proxy HeaderMatch): one vocabulary for the policy
/// (the `mismatch:` word, Policy's `HTTPHeaderAction`), the proxy that applies it, and the flow
/// record (one bit each in `sluice_flow_http.header_actions`, `SLUICE_HEADER_ACTION_*` of
/// bpf/include/sluice_flow.h; Flows' `Flow.HeaderActions` and its `:sluice-header-actions` text).
public enum HeaderMismatchAction: String, Sendable, Hashable, CaseIterable {
    /// Let the request through, log the header as missing.
    case log = "LOG"
    /// Add the expected value.
    case add = "ADD"
    /// Remove the header.
    case delete = "DELETE"
    /// Set the header to the expected value.
    case replace = "REPLACE"

    /// The word a policy's `mismatch:` and a flow's `:sluice-header-actions` use: `LOG`, `ADD`,
    /// `DELETE`, `REPLACE`.
    public var name: String { rawValue }

    /// The action's bit in the flow record's `header_actions` byte.
    public var bit: UInt8 {
        switch self {
        case .log: UInt8(SLUICE_HEADER_ACTION_LOG)
        case .add: UInt8(SLUICE_HEADER_ACTION_ADD)
        case .delete: UInt8(SLUICE_HEADER_ACTION_DELETE)
        case .replace: UInt8(SLUICE_HEADER_ACTION_REPLACE)
        }
    }
}
