/// Calendar fields of an instant at a fixed UTC offset, and the two time layouts the printers use.
/// Pure arithmetic (Howard Hinnant's days-from-civil inverse); no Foundation, no time-zone database.
struct CivilTime: Equatable {
    var year: Int64
    var month: Int  // 1...12
    var day: Int  // 1...31
    var hour: Int
    var minute: Int
    var second: Int
    var nanos: Int32

    /// The fields of `t` shifted by `utcOffsetSeconds` (0 for UTC).
    init(_ t: Flow.Timestamp, utcOffsetSeconds: Int = 0) {
        let local = t.seconds &+ Int64(utcOffsetSeconds)
        var days = local / 86_400
        var secondOfDay = local % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        hour = Int(secondOfDay / 3600)
        minute = Int(secondOfDay / 60 % 60)
        second = Int(secondOfDay % 60)
        nanos = t.nanos
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    private static let monthNames = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// protojson's `Timestamp` text (always UTC): `2006-01-02T15:04:05[.000|.000000|.000000000]Z`, the fraction
    /// written with 0, 3, 6 or 9 digits: nine digits with trailing groups of `000` removed.
    static func rfc3339(_ t: Flow.Timestamp) -> String {
        let c = CivilTime(t)
        var out = pad(c.year, 4) + "-" + pad(c.month, 2) + "-" + pad(c.day, 2) + "T"
        out += pad(c.hour, 2) + ":" + pad(c.minute, 2) + ":" + pad(c.second, 2)
        if c.nanos != 0 {
            var digits = pad(Int(c.nanos), 9)
            while digits.hasSuffix("000") { digits.removeLast(3) }
            out += "." + digits
        }
        return out + "Z"
    }

    /// Go's `time.StampMilli` (`Jan _2 15:04:05.000`): day padded with a space, milliseconds truncated.
    static func stampMilli(_ t: Flow.Timestamp, utcOffsetSeconds: Int) -> String {
        let c = CivilTime(t, utcOffsetSeconds: utcOffsetSeconds)
        let day = c.day < 10 ? " \(c.day)" : "\(c.day)"
        return monthNames[c.month - 1] + " " + day + " " + pad(c.hour, 2) + ":" + pad(c.minute, 2) + ":"
            + pad(c.second, 2) + "." + pad(Int(c.nanos / 1_000_000), 3)
    }

    private static func pad(_ v: some BinaryInteger, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
