/// hubble's `--time-format` layouts (`hubtime.FormatNameToLayout`), applied in the printing time zone.
public enum TimeFormat: String, CaseIterable, Sendable {
    /// `Jan _2 15:04:05.000` (the default).
    case stampMilli = "StampMilli"
    /// `2006-01-02T15:04:05Z07:00`.
    case rfc3339 = "RFC3339"
    /// `2006-01-02T15:04:05.000Z07:00`.
    case rfc3339Milli = "RFC3339Milli"
    /// `2006-01-02T15:04:05.000000Z07:00`.
    case rfc3339Micro = "RFC3339Micro"
    /// `2006-01-02T15:04:05.999999999Z07:00` (trailing zeros of the fraction dropped, as Go does).
    case rfc3339Nano = "RFC3339Nano"
    /// `Mon, 02 Jan 2006 15:04:05 -0700`.
    case rfc1123Z = "RFC1123Z"

    /// The time `t` written in this layout at `utcOffsetSeconds` east of UTC.
    public func format(_ t: Flow.Timestamp, utcOffsetSeconds: Int) -> String {
        if self == .stampMilli { return CivilTime.stampMilli(t, utcOffsetSeconds: utcOffsetSeconds) }
        let c = CivilTime(t, utcOffsetSeconds: utcOffsetSeconds)
        let clock = Self.pad(c.hour, 2) + ":" + Self.pad(c.minute, 2) + ":" + Self.pad(c.second, 2)
        if self == .rfc1123Z {
            let days =
                (t.seconds &+ Int64(utcOffsetSeconds)) >= 0
                ? (t.seconds &+ Int64(utcOffsetSeconds)) / 86_400
                : ((t.seconds &+ Int64(utcOffsetSeconds)) - 86_399) / 86_400
            let weekday = Int(((days + 4) % 7 + 7) % 7)
            return Self.weekdays[weekday] + ", " + Self.pad(c.day, 2) + " " + Self.months[c.month - 1] + " "
                + Self.pad(c.year, 4) + " " + clock + " " + Self.offset(utcOffsetSeconds, colon: false, zulu: false)
        }
        var out = Self.pad(c.year, 4) + "-" + Self.pad(c.month, 2) + "-" + Self.pad(c.day, 2) + "T" + clock
        let nine = Self.pad(Int(c.nanos), 9)
        switch self {
        case .rfc3339Milli: out += "." + nine.prefix(3)
        case .rfc3339Micro: out += "." + nine.prefix(6)
        case .rfc3339Nano:
            var digits = Substring(nine)
            while digits.last == "0" { digits = digits.dropLast() }
            if !digits.isEmpty { out += "." + digits }
        default: break
        }
        return out + Self.offset(utcOffsetSeconds, colon: true, zulu: true)
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func offset(_ seconds: Int, colon: Bool, zulu: Bool) -> String {
        if seconds == 0 && zulu { return "Z" }
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return sign + pad(minutes / 60, 2) + (colon ? ":" : "") + pad(minutes % 60, 2)
    }

    private static func pad(_ v: some BinaryInteger, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
