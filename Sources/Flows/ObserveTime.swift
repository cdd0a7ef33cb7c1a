/// `--since` / `--until` values as hubble reads them (`hubtime.FromString`): a Go duration back from now
/// (`1m`, `2h30m`, `1.5h`, `300ms`) or an absolute time (RFC 3339 with or without a fraction, or
/// `2006-01-02T15:04:05`, `2006-01-02T15:04`, `2006-01-02 15:04:05`, `2006-01-02`, read as UTC).
public enum ObserveTime {
    /// The instant `text` names, durations counted back from `now`; nil when it is neither form.
    public static func parse(_ text: String, now: Flow.Timestamp) -> Flow.Timestamp? {
        if let ns = goDuration(text) {
            let nowNs = now.seconds &* 1_000_000_000 &+ Int64(now.nanos)
            return Flow.Timestamp(nanosecondsSinceEpoch: nowNs &- ns)
        }
        return Flow.Timestamp(rfc3339: text)
    }

    /// A Go duration in nanoseconds (`time.ParseDuration`): an optional sign, then one or more
    /// `<decimal><unit>` with unit ns, us, µs, ms, s, m or h; `0` alone is allowed.
    public static func goDuration(_ text: String) -> Int64? {
        var s = Substring(text)
        var sign: Double = 1
        if s.first == "-" || s.first == "+" {
            if s.first == "-" { sign = -1 }
            s = s.dropFirst()
        }
        if s == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        var total: Double = 0
        while !s.isEmpty {
            let number = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", let value = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            let unitText = s.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            s = s.dropFirst(unitText.count)
            let unit: Double
            switch unitText {
            case "ns": unit = 1
            case "us", "µs", "μs": unit = 1e3
            case "ms": unit = 1e6
            case "s": unit = 1e9
            case "m": unit = 60e9
            case "h": unit = 3600e9
            default: return nil
            }
            total += value * unit
        }
        guard total < 9.2e18 else { return nil }
        return Int64(sign * total)
    }
}

extension Flow.Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, and the zone-less forms `YYYY-MM-DDTHH:MM:SS`,
    /// `YYYY-MM-DDTHH:MM`, `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DD` as UTC.
    public init?(rfc3339 text: String) {
        let b = Array(text.utf8)
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= b.count else { return nil }
            var v = 0
            for i in at..<(at + n) {
                guard b[i] >= 48 && b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard let year = digits(0, 4), b.count >= 10, b[4] == UInt8(ascii: "-"), let month = digits(5, 2),
            b[7] == UInt8(ascii: "-"), let day = digits(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        // The day must exist in that month (no 2026-02-30, 2026-04-31; 29 February in leap years).
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= monthDays[month - 1] else { return nil }
        var hour = 0, minute = 0, second = 0, nanos = 0, offset = 0
        var i = 10
        if i < b.count {
            guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == UInt8(ascii: " "),
                let h = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"), let m = digits(i + 4, 2)
            else { return nil }
            hour = h
            minute = m
            i += 6
            if i < b.count && b[i] == UInt8(ascii: ":") {
                guard let sec = digits(i + 1, 2) else { return nil }
                second = sec
                i += 3
                if i < b.count && b[i] == UInt8(ascii: ".") {
                    i += 1
                    var count = 0
                    while i < b.count, b[i] >= 48 && b[i] <= 57 {
                        if count < 9 { nanos = nanos * 10 + Int(b[i] - 48) }
                        count += 1
                        i += 1
                    }
                    guard count > 0 else { return nil }
                    if count < 9 { for _ in count..<9 { nanos *= 10 } }
                }
            }
            if i < b.count {
                if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                    i += 1
                } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
                    guard let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"),
                        let om = digits(i + 4, 2)
                    else { return nil }
                    offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
                    i += 6
                }
            }
            guard i == b.count, hour < 24, minute < 60, second < 61 else { return nil }
        }
        // days from civil (Howard Hinnant).
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let secs = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        self.init(seconds: secs, nanos: Int32(nanos))
    }
}
