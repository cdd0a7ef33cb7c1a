/// What to do with a request header whose name holds `_`, as Envoy's
/// `headers_with_underscores_action`. Sluice defaults to `rejectRequest` (Envoy's default is
/// `allow`): a backend that maps `_` to `-` would see a field the policy matched under another
/// name, e.g. a second `X-Role` beside the one a rule checked.
public enum HeadersWithUnderscoresAction: String, Sendable, CaseIterable {
    /// Forward such fields as they are.
    case allow
    /// Answer 400 and close (Envoy `REJECT_REQUEST`).
    case rejectRequest = "reject-request"
    /// Remove such fields before matching and forwarding (Envoy `DROP_HEADER`).
    case dropHeader = "drop-header"
}
