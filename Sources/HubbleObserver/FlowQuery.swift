import CSluiceShared
import Flows
import HubbleProto
import SluiceModel

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
    /// The whitelist and blacklist on the record's own fields, when every filter names only
    /// those (verdict, traffic direction): a follow stream then needs no decode to filter.
    let recordFilters: (whitelist: RecordFilter, blacklist: RecordFilter)?

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
        if let white = RecordFilter(request.whitelist), let black = RecordFilter(request.blacklist) {
            recordFilters = (white, black)
        } else {
            recordFilters = nil
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

    /// Whether the filters pass `rec` when they can tell from the record alone (nil: decode and
    /// ask `wants`). Hubble's rule: the whitelist empty or matching, the blacklist not matching.
    func passes(record rec: UnsafePointer<sluice_flow>) -> Bool? {
        guard let (white, black) = recordFilters else { return nil }
        return (white.isEmpty || white.matchesAny(rec)) && !black.matchesAny(rec)
    }

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
        // Kept records are decoded here, one by one, only those inside the time window. Walking
        // newest first, the first one before `since` ends the walk.
        func visit(_ entry: FlowHistory.Entry) -> Bool {
            if let since = r.since, entry.time < since { return r.first }
            if let until = r.until, until < entry.time { return true }
            let flow = entry.flow
            if wants(flow) { picked.append(flow) }
            return picked.count < limit
        }
        if r.first {
            history.forEach(visit)
        } else {
            history.forEachNewestFirst(visit)
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

/// A whitelist or blacklist whose filters name only fields the ring record holds as they are
/// decoded (verdict, traffic direction): evaluated on the record, the same answer as the clause
/// engine on the decoded flow (`FollowFromRecordsTests` holds them equal).
struct RecordFilter {
    private struct Clause {
        var verdicts: [Flow.Verdict]
        var directions: [TrafficDirection]
    }
    private let clauses: [Clause]

    /// nil when some filter names another field (or a value the engine refuses).
    init?(_ criteria: [FlowFilter.Criteria]) {
        var clauses: [Clause] = []
        for c in criteria {
            var rest = c
            rest.verdict = []
            rest.trafficDirection = []
            guard rest == FlowFilter.Criteria() else { return nil }
            var verdicts: [Flow.Verdict] = []
            for v in c.verdict {
                guard v <= 255, let verdict = Flow.Verdict(rawValue: UInt8(v)) else { return nil }
                verdicts.append(verdict)
            }
            let directions = c.trafficDirection.compactMap { TrafficDirection(rawValue: UInt8(truncatingIfNeeded: $0)) }
            clauses.append(Clause(verdicts: verdicts, directions: directions))
        }
        self.clauses = clauses
    }

    var isEmpty: Bool { clauses.isEmpty }

    func matchesAny(_ rec: UnsafePointer<sluice_flow>) -> Bool {
        let verdict = Flow.Verdict(rawValue: rec.pointee.verdict) ?? .unknown
        let direction = TrafficDirection(c: rec.pointee.direction)
        return clauses.contains {
            ($0.verdicts.isEmpty || $0.verdicts.contains(verdict))
                && ($0.directions.isEmpty || $0.directions.contains(direction))
        }
    }
}
