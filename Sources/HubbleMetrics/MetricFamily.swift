/// One metric family of the Prometheus text exposition: a name, its help text, its label names in
/// the order the handler declares them, and one series per distinct tuple of label values.
///
/// Families are mutated only by the thread that feeds flows (the observer's loop); they are
/// classes so that a handler and the registry share one family. Not `Sendable`.
public protocol MetricFamily: AnyObject {
    /// `hubble_flows_processed_total`.
    var name: String { get }
    /// `# HELP` text.
    var help: String { get }
    /// Label names in declaration order (Hubble's order).
    var labelNames: [String] { get }
    /// Number of series (distinct label-value tuples) seen so far.
    var seriesCount: Int { get }
    /// Appends this family in the text format to `out`; nothing when it has no series yet (as
    /// client_golang's registry gathers no empty vector).
    func write(into out: inout String)
}

/// A counter vector: exact counts (`UInt64`), so N events move a series by exactly N.
///
/// Each series has a handle (`series(_:)`, an index into a flat array of counts): a handler that
/// keeps the handle of a label tuple it has seen (`SeriesCache`) counts a flow with one array
/// increment, without building or hashing the label strings again.
public final class CounterFamily: MetricFamily {
    public let name: String
    public let help: String
    public let labelNames: [String]
    private var index: SeriesIndex
    private var counts: [UInt64] = []

    /// Creates an empty vector.
    public init(name: String, help: String, labelNames: [String]) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
        index = SeriesIndex(family: name, labelCount: labelNames.count)
    }

    public var seriesCount: Int { counts.count }

    /// Every series' count by handle (`HubbleMetricsRegistry`'s record path diffs them).
    var countsByHandle: [UInt64] { counts }

    /// Counts by label values (in `labelNames` order).
    public var values: [[String]: UInt64] { index.byLabels(counts) }

    /// The handle of the series `labels` (as many values as `labelNames`; a caller bug otherwise),
    /// created at 0 when new.
    public func series(_ labels: [String]) -> Int {
        let (handle, isNew) = index.handle(labels)
        if isNew { counts.append(0) }
        return handle
    }

    /// Adds `amount` to the series of `handle` (from `series(_:)`).
    @inline(__always)
    public func add(series handle: Int, _ amount: UInt64 = 1) {
        counts[handle] &+= amount
    }

    /// Adds `amount` to the series `labels`.
    public func add(_ labels: [String], _ amount: UInt64 = 1) {
        counts[series(labels)] &+= amount
    }

    /// Sets the series `labels` to `value` (a counter read from elsewhere, e.g. the flow reader's
    /// lost-event count, which only grows).
    public func set(_ labels: [String], _ value: UInt64) {
        counts[series(labels)] = value
    }

    /// The count of one series, 0 when it was never incremented.
    public func value(_ labels: [String]) -> UInt64 { index.known(labels).map { counts[$0] } ?? 0 }

    public func write(into out: inout String) {
        guard !counts.isEmpty else { return }
        Exposition.header(name: name, help: help, type: "counter", into: &out)
        for (labels, value) in Exposition.sorted(values, labelNames: labelNames) {
            Exposition.sample(name, labelNames, labels, extra: nil, value: String(value), into: &out)
        }
    }
}

/// A gauge vector: a value set from a reading (resident memory, the last policy install's time).
public final class GaugeFamily: MetricFamily {
    public let name: String
    public let help: String
    public let labelNames: [String]
    public private(set) var values: [[String]: Double] = [:]

    public init(name: String, help: String, labelNames: [String] = []) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
    }

    public var seriesCount: Int { values.count }

    public func set(_ labels: [String], _ value: Double) {
        precondition(labels.count == labelNames.count, "\(name): label count")
        values[labels] = value
    }

    public func value(_ labels: [String]) -> Double? { values[labels] }

    public func write(into out: inout String) {
        guard !values.isEmpty else { return }
        Exposition.header(name: name, help: help, type: "gauge", into: &out)
        for (labels, value) in Exposition.sorted(values, labelNames: labelNames) {
            Exposition.sample(name, labelNames, labels, extra: nil, value: Exposition.number(value), into: &out)
        }
    }
}

/// A histogram vector with fixed upper bounds (cumulative buckets, `_sum`, `_count`).
public final class HistogramFamily: MetricFamily {
    /// client_golang's `prometheus.DefBuckets`, which Hubble's HTTP duration uses.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// One series: per-bucket counts (not cumulative; the writer sums), the sum and the count.
    public struct Series: Equatable, Sendable {
        public var bucketCounts: [UInt64]
        public var sum: Double
        public var count: UInt64
    }

    public let name: String
    public let help: String
    public let labelNames: [String]
    /// Upper bounds, ascending; `+Inf` is implied.
    public let buckets: [Double]
    private var index: SeriesIndex
    private var storage: [Series] = []

    public init(name: String, help: String, labelNames: [String], buckets: [Double] = HistogramFamily.defaultBuckets) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.buckets = buckets
        index = SeriesIndex(family: name, labelCount: labelNames.count)
    }

    public var seriesCount: Int { storage.count }

    /// Every series' observation count by handle (`HubbleMetricsRegistry`'s record path diffs them).
    var observationsByHandle: [UInt64] { storage.map(\.count) }

    /// Every series by its label values.
    public var series: [[String]: Series] { index.byLabels(storage) }

    /// The handle of the series `labels`, created empty when new (as `CounterFamily.series`).
    public func series(_ labels: [String]) -> Int {
        let (handle, isNew) = index.handle(labels)
        if isNew { storage.append(Series(bucketCounts: Array(repeating: 0, count: buckets.count), sum: 0, count: 0)) }
        return handle
    }

    /// Records one observation of `value` (seconds, bytes...) in the series of `handle`.
    public func observe(series handle: Int, _ value: Double) {
        var i = 0
        while i < buckets.count, !(value <= buckets[i]) { i += 1 }
        if i < buckets.count { storage[handle].bucketCounts[i] &+= 1 }
        storage[handle].sum += value
        storage[handle].count &+= 1
    }

    /// Sets the series `labels` to `value` (a histogram kept by another process; `bucketCounts` per
    /// bound, not cumulative, observations above the last bound only in `count`).
    public func set(_ labels: [String], _ value: Series) {
        precondition(value.bucketCounts.count == buckets.count, "\(name): bucket count")
        storage[series(labels)] = value
    }

    /// Records one observation of `value` in the series `labels`.
    public func observe(_ labels: [String], _ value: Double) {
        observe(series: series(labels), value)
    }

    public func write(into out: inout String) {
        guard !storage.isEmpty else { return }
        Exposition.header(name: name, help: help, type: "histogram", into: &out)
        for (labels, s) in Exposition.sorted(series, labelNames: labelNames) {
            var cumulative: UInt64 = 0
            for (i, bound) in buckets.enumerated() {
                cumulative &+= s.bucketCounts[i]
                Exposition.sample(
                    name + "_bucket", labelNames, labels, extra: ("le", Exposition.number(bound)),
                    value: String(cumulative), into: &out)
            }
            Exposition.sample(
                name + "_bucket", labelNames, labels, extra: ("le", "+Inf"), value: String(s.count), into: &out)
            Exposition.sample(
                name + "_sum", labelNames, labels, extra: nil, value: Exposition.number(s.sum), into: &out)
            Exposition.sample(name + "_count", labelNames, labels, extra: nil, value: String(s.count), into: &out)
        }
    }
}

/// The series of a vector family (`CounterFamily`, `HistogramFamily`): each label-value tuple's
/// handle, its position in the family's flat storage, given in creation order.
struct SeriesIndex {
    /// The family's name, for the caller-bug message.
    let family: String
    let labelCount: Int
    private var handles: [[String]: Int] = [:]
    /// Label values by handle.
    private var labelSets: [[String]] = []

    init(family: String, labelCount: Int) {
        self.family = family
        self.labelCount = labelCount
    }

    /// The handle of `labels` (as many values as the family has label names; a caller bug
    /// otherwise) and whether it is new: the family then appends that series' storage.
    mutating func handle(_ labels: [String]) -> (handle: Int, isNew: Bool) {
        precondition(labels.count == labelCount, "\(family): label count")
        if let handle = handles[labels] { return (handle, false) }
        let handle = labelSets.count
        handles[labels] = handle
        labelSets.append(labels)
        return (handle, true)
    }

    /// The handle of `labels` when its series exists.
    func known(_ labels: [String]) -> Int? { handles[labels] }

    /// `storage` (one element per handle) keyed by label values.
    func byLabels<V>(_ storage: [V]) -> [[String]: V] { Dictionary(uniqueKeysWithValues: zip(labelSets, storage)) }
}

/// Series handles by a handler's own small key: the flow fields its labels are made of (enums,
/// numbers, short strings), so a flow whose labels were seen before costs one hash of that key
/// and an array increment instead of building and hashing an array of label strings. Only used
/// without context labels (those come from endpoint names: the string path keeps them).
struct SeriesCache<Key: Hashable> {
    private var handles: [Key: Int] = [:]

    /// The handle of `key`'s series in `family`; `labels` builds its label values the first time.
    mutating func counter(_ key: Key, _ family: CounterFamily, _ labels: () -> [String]) -> Int {
        if let handle = handles[key] { return handle }
        let handle = family.series(labels())
        handles[key] = handle
        return handle
    }

    /// The handle of `key`'s series when it was made before.
    func counterIfKnown(_ key: Key) -> Int? { handles[key] }

    /// The same for a histogram.
    mutating func histogram(_ key: Key, _ family: HistogramFamily, _ labels: () -> [String]) -> Int {
        if let handle = handles[key] { return handle }
        let handle = family.series(labels())
        handles[key] = handle
        return handle
    }
}
