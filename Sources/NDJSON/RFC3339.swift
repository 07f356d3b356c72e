import SegmentFormat

/// RFC 3339 date-times to and from nanoseconds since the epoch (UTC), on raw bytes.
///
/// Parsing accepts RFC 3339 and the ISO 8601 variants that log shippers write: `T`, `t` or a space
/// between date and time; `Z`, `z`, `±HH:MM`, `±HHMM` or `±HH` as the offset; a `.` or `,` before
/// the fraction. A time without an offset is read at `defaultOffset` seconds east of UTC when the
/// caller gives one (a schema's `x-segment.default-offset`), and refused otherwise.
///
/// Two RFC 3339 cases have no exact nanosecond of their own, and map as follows:
/// - More than nine fraction digits: the digits past the nanosecond are dropped, which moves the
///   instant to the earlier nanosecond (never into the next second, minute or day).
/// - A leap second, `23:59:60` in UTC (so `08:59:60+09:00` too), with any fraction: the last
///   nanosecond of that UTC day, `23:59:59.999999999Z`. A record keeps its day, and sorts after every
///   other instant of that day and before the next day. `:60` in any other minute is refused.
///
/// It refuses what an `Int64` of nanoseconds cannot hold (before 1677-09-21, after 2262-04-11).
/// Formatting writes UTC with `Z` and the fewest of 0, 3, 6 or 9 fraction digits that keep the
/// instant exact. Hot path (timestamp columns).
public enum RFC3339 {
    /// Parses `count` bytes at `p`; nil when they are not a date-time in range. `defaultOffset`
    /// (seconds east of UTC) applies to a time written without an offset; nil refuses such a time.
    public static func parse(_ p: UnsafePointer<UInt8>, count n: Int, defaultOffset: Int? = nil) -> Int64? {
        guard n >= 19 else { return nil }
        @inline(__always) func digit(_ k: Int) -> Int? {
            let c = p[k] &- 0x30
            return c < 10 ? Int(c) : nil
        }
        @inline(__always) func two(_ k: Int) -> Int? {
            guard let a = digit(k), let b = digit(k + 1) else { return nil }
            return a * 10 + b
        }
        guard let y1 = two(0), let y2 = two(2), p[4] == 0x2D, let month = two(5), p[7] == 0x2D, let day = two(8),
              p[10] == 0x54 || p[10] == 0x74 || p[10] == 0x20,
              let hour = two(11), p[13] == 0x3A, let minute = two(14), p[16] == 0x3A, let second = two(17)
        else { return nil }
        let year = y1 * 100 + y2
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second <= 60 else { return nil }
        var k = 19
        var fraction: Int64 = 0
        if k < n && (p[k] == 0x2E || p[k] == 0x2C) {
            k += 1
            var digits = 0
            while k < n, let d = digit(k) {
                // Digits past the ninth are checked and dropped (the instant moves to the earlier nanosecond).
                if digits < 9 { fraction = fraction * 10 + Int64(d) }
                digits += 1
                k += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 9)..<9 { fraction *= 10 }
        }
        var offsetSeconds: Int
        if k == n {
            guard let defaultOffset else { return nil }
            offsetSeconds = defaultOffset
        } else {
            guard let offset = UTCOffset.seconds(p + k, count: n - k) else { return nil }
            offsetSeconds = offset
        }
        var secondOfDay = hour * 3600 + minute * 60 + second
        if second == 60 {
            // A leap second is the last second of a UTC day: 23:59 once the offset is taken off.
            let utcMinute = ((hour * 60 + minute - offsetSeconds / 60) % 1440 + 1440) % 1440
            guard utcMinute == 1439 else { return nil }
            secondOfDay -= 1
            fraction = 999_999_999
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        var seconds = Int64(days) * 86_400 + Int64(secondOfDay - offsetSeconds)
        // Before the epoch, borrow a second so the product stays in range down to Int64.min.
        if seconds < 0 && fraction > 0 {
            seconds += 1
            fraction -= 1_000_000_000
        }
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (total, overflow2) = ns.addingReportingOverflow(fraction)
        return overflow2 ? nil : total
    }

    public static func parse(_ text: String) -> Int64? {
        parse(text, defaultOffset: nil)
    }

    public static func parse(_ text: String, defaultOffset: Int?) -> Int64? {
        var s = text
        return s.withUTF8 { buf in buf.baseAddress.flatMap { parse($0, count: buf.count, defaultOffset: defaultOffset) } }
    }

    /// Appends the date-time of `ns` (UTC, `Z`) to `out`.
    public static func format(_ ns: Int64, into out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buf in
            let n = format(ns, to: buf.baseAddress!)
            out.append(contentsOf: UnsafeBufferPointer(start: buf.baseAddress, count: n))
        }
    }

    public static func format(_ ns: Int64) -> String {
        var out: [UInt8] = []
        format(ns, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes the date-time of `ns` at `out` (at most 30 bytes); returns the bytes written.
    @inline(__always)
    public static func format(_ ns: Int64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let (days, secondOfDay, fraction) = split(ns)
        writeDate(days: Int(days), to: out)
        return 11 + writeClock(secondOfDay: secondOfDay, fraction: fraction, to: out + 11)
    }

    /// Days since the epoch, second of that day, and nanoseconds into that second (floored, so an
    /// instant before 1970 has a non-negative second and fraction).
    @inline(__always)
    public static func split(_ ns: Int64) -> (days: Int64, secondOfDay: Int, fraction: Int) {
        var seconds = ns / 1_000_000_000
        var fraction = ns % 1_000_000_000
        if fraction < 0 {
            fraction += 1_000_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        return (days, Int(secondOfDay), Int(fraction))
    }

    /// Writes the date of `days` since the epoch as `YYYY-MM-DDT` (11 bytes).
    @inline(__always)
    static func writeDate(days: Int, to out: UnsafeMutablePointer<UInt8>) {
        let (year, month, day) = civilFromDays(days)
        @inline(__always) func put2(_ v: Int, _ at: Int) {
            out[at] = UInt8(truncatingIfNeeded: 0x30 + v / 10)
            out[at + 1] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
        }
        put2(year / 100, 0)
        put2(year % 100, 2)
        out[4] = 0x2D
        put2(month, 5)
        out[7] = 0x2D
        put2(day, 8)
        out[10] = 0x54
    }

    /// Writes `HH:MM:SS`, the fraction in the fewest of 0, 3, 6 or 9 digits, and `Z`; returns the
    /// bytes written (at most 19).
    @inline(__always)
    static func writeClock(secondOfDay s: Int, fraction: Int, to out: UnsafeMutablePointer<UInt8>) -> Int {
        @inline(__always) func put2(_ v: Int, _ at: Int) {
            out[at] = UInt8(truncatingIfNeeded: 0x30 + v / 10)
            out[at + 1] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
        }
        put2(s / 3600, 0)
        out[2] = 0x3A
        put2(s / 60 % 60, 3)
        out[5] = 0x3A
        put2(s % 60, 6)
        var k = 8
        if fraction != 0 {
            var digits = 9
            var f = fraction
            while digits > 3 && f % 1000 == 0 {
                f /= 1000
                digits -= 3
            }
            out[k] = 0x2E
            for d in stride(from: digits, to: 0, by: -1) {
                out[k + d] = UInt8(truncatingIfNeeded: 0x30 + f % 10)
                f /= 10
            }
            k += digits + 1
        }
        out[k] = 0x5A
        return k + 1
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01.
    public static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
