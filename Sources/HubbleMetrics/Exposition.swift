/// The Prometheus text exposition format 0.0.4 (what `promtool check metrics` reads), written the
/// way client_golang writes it so a scrape of Sluice reads like a scrape of Hubble: families sorted
/// by name, `# HELP` then `# TYPE`, label pairs of a sample sorted by label name (`le` last),
/// series sorted by their label values, bucket bounds as Go writes them (`1`, `0.005`, `2.5`: the
/// `le` value is matched as text by PromQL, so `1.0` would be another series than Hubble's `1`).
public enum Exposition {
    /// The `Content-Type` of the text format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// All `families` as one exposition, sorted by family name.
    public static func render(_ families: [any MetricFamily]) -> String {
        var out = ""
        out.reserveCapacity(4096)
        for family in families.sorted(by: { $0.name < $1.name }) {
            family.write(into: &out)
        }
        return out
    }

    static func header(name: String, help: String, type: String, into out: inout String) {
        out += "# HELP " + name + " " + escapeHelp(help) + "\n"
        out += "# TYPE " + name + " " + type + "\n"
    }

    /// One sample line: `name{a="x",b="y"} value`.
    static func sample(
        _ name: String, _ labelNames: [String], _ values: [String], extra: (String, String)?, value: String,
        into out: inout String
    ) {
        out += name
        let order = labelNames.indices.sorted { labelNames[$0] < labelNames[$1] }
        if !order.isEmpty || extra != nil {
            out += "{"
            var first = true
            for i in order {
                if !first { out += "," }
                first = false
                out += labelNames[i] + "=\"" + escapeLabelValue(values[i]) + "\""
            }
            if let (k, v) = extra {
                if !first { out += "," }
                out += k + "=\"" + escapeLabelValue(v) + "\""
            }
            out += "}"
        }
        out += " " + value + "\n"
    }

    /// Series in a stable order: by their label values taken in label-name order.
    static func sorted<V>(_ series: [[String]: V], labelNames: [String]) -> [([String], V)] {
        let order = labelNames.indices.sorted { labelNames[$0] < labelNames[$1] }
        return series.map { ($0.key, $0.value) }.sorted { a, b in
            for i in order where a.0[i] != b.0[i] { return a.0[i] < b.0[i] }
            return false
        }
    }

    /// A label value with `\`, `"` and newline escaped (the text format's only escapes).
    public static func escapeLabelValue(_ s: String) -> String { escape(s, quote: true) }

    /// Help text with `\` and newline escaped.
    static func escapeHelp(_ s: String) -> String { escape(s, quote: false) }

    /// `s` with `\`, newline and (`quote`) `"` escaped; `s` itself when it has none of them.
    private static func escape(_ s: String, quote: Bool) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == 10 || (quote && $0 == UInt8(ascii: "\"")) })
        else { return s }
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"" where quote: out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A float as Prometheus reads it, integral values without a fraction as Go writes bucket
    /// bounds (`1`, `10`), others as Swift's shortest round-trip text (`0.005`, `1e-05`); `+Inf`,
    /// `-Inf`, `NaN`.
    public static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return v.description
    }
}
