import Flows
import HubbleProto

/// One `GetFlows` request turned into what the server does: which kept flows it sends now and
/// whether it then follows new ones. Hubble's rules (cilium `pkg/hubble/observer`): `first` takes
/// the oldest `number` matching flows, otherwise the newest `number` (0: all, unless following);
/// `since`/`until` bound the flow times; `follow` alone starts with new flows only; `first` with
/// `follow` is refused. Filters are the same clause engine `sluice observe` uses.
public struct FlowQuery {
    public let request: GetFlowsRequest
    public let whitelist: FlowFilter.CriteriaList
    public let blacklist: FlowFilter.CriteriaList
    /// `field_mask`: the flow fields each answer carries.
    public let mask: FlowProtoMask

    /// Why a request is refused (gRPC INVALID_ARGUMENT with this message).
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(_ request: GetFlowsRequest) throws(Invalid) {
        if request.first && request.follow { throw Invalid(description: "first cannot be specified with follow") }
        if let since = request.since, let until = request.until, until < since {
            throw Invalid(description: "until must be after since")
        }
        self.request = request
        do {
            whitelist = try FlowFilter.CriteriaList(request.whitelist)
            blacklist = try FlowFilter.CriteriaList(request.blacklist)
        } catch {
            throw Invalid(description: error.description)
        }
        do {
            mask = try FlowProtoMask(paths: request.fieldMask)
        } catch {
            throw Invalid(description: error.description)
        }
    }

    /// `flow` as this request's answer carries it: framed, masked when the request has a mask
    /// (an unmasked follow stream shares `shared`'s one encoding per flow with the others).
    func framed(_ flow: Flow, shared: SharedFlowEncoding? = nil, index: UInt64 = 0) -> [UInt8] {
        if mask.isActive { return GetFlowsResponse.framedFlow(flow, mask: mask) }
        if let shared { return shared.framed(flow, index: index) }
        return GetFlowsResponse.framedFlow(flow)
    }

    /// Whether the request has a whitelist or a blacklist (a record must then be decoded to tell).
    var hasFilters: Bool { !whitelist.isEmpty || !blacklist.isEmpty }

    /// Whether `flow` is one this request wants (filters and time window).
    public func wants(_ flow: Flow) -> Bool {
        if let since = request.since, flow.time < since { return false }
        if let until = request.until, until < flow.time { return false }
        return FlowFilter.CriteriaList.passes(flow, whitelist: whitelist, blacklist: blacklist)
    }

    /// The kept flows to send before following, oldest first.
    public func initialFlows(_ history: FlowHistory) -> [Flow] {
        let r = request
        if r.follow && r.number == 0 && r.since == nil { return [] }
        var picked: [Flow] = []
        let limit = r.number == 0 ? Int.max : Int(min(r.number, UInt64(Int.max)))
        // Kept records are decoded here, one by one, only those inside the time window.
        if r.first {
            history.forEach {
                if let since = r.since, $0.time < since { return true }
                if let until = r.until, until < $0.time { return true }
                let flow = $0.flow
                if wants(flow) { picked.append(flow) }
                return picked.count < limit
            }
        } else {
            history.forEachNewestFirst {
                if let since = r.since, $0.time < since { return false }
                if let until = r.until, until < $0.time { return true }
                let flow = $0.flow
                if wants(flow) { picked.append(flow) }
                return picked.count < limit
            }
            picked.reverse()
        }
        return picked
    }

    /// Whether a follow stream is over once the wall clock reads `nowNs` (past `until`).
    public func isOver(wallNs: Int64) -> Bool {
        guard let until = request.until else { return false }
        return until < Flow.Timestamp(nanosecondsSinceEpoch: wallNs)
    }
}
