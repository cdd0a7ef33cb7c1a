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
public final class CounterFamily: MetricFamily {
    public let name: String
    public let help: String
    public let labelNames: [String]
    /// Counts by label values (in `labelNames` order).
    public private(set) var values: [[String]: UInt64] = [:]

    /// Creates an empty vector.
    public init(name: String, help: String, labelNames: [String]) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
    }

    public var seriesCount: Int { values.count }

    /// Adds `amount` to the series `labels` (as many values as `labelNames`; a caller bug otherwise).
    public func add(_ labels: [String], _ amount: UInt64 = 1) {
        precondition(labels.count == labelNames.count, "\(name): label count")
        values[labels, default: 0] &+= amount
    }

    /// Sets the series `labels` to `value` (a counter read from elsewhere, e.g. the flow reader's
    /// lost-event count, which only grows).
    public func set(_ labels: [String], _ value: UInt64) {
        precondition(labels.count == labelNames.count, "\(name): label count")
        values[labels] = value
    }

    /// The count of one series, 0 when it was never incremented.
    public func value(_ labels: [String]) -> UInt64 { values[labels] ?? 0 }

    public func write(into out: inout String) {
        guard !values.isEmpty else { return }
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
    public private(set) var series: [[String]: Series] = [:]

    public init(name: String, help: String, labelNames: [String], buckets: [Double] = HistogramFamily.defaultBuckets) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.buckets = buckets
    }

    public var seriesCount: Int { series.count }

    /// Records one observation of `value` (seconds, bytes...) in the series `labels`.
    public func observe(_ labels: [String], _ value: Double) {
        precondition(labels.count == labelNames.count, "\(name): label count")
        var s = series[labels] ?? Series(bucketCounts: Array(repeating: 0, count: buckets.count), sum: 0, count: 0)
        if let i = buckets.firstIndex(where: { value <= $0 }) { s.bucketCounts[i] &+= 1 }
        s.sum += value
        s.count &+= 1
        series[labels] = s
    }

    public func write(into out: inout String) {
        guard !series.isEmpty else { return }
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
