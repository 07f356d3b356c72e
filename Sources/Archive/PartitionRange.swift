/// The Hive partitions (`dt=YYYY-MM-DD/hour=HH`, UTC) under a stream's prefix that can hold records
/// in `[since, until)`, as bounds on keys, so one listing starts at the first such partition and
/// stops after the last, whatever the stream's length.
///
/// A segment is filed under its earliest record's hour (`tools/ship-segments`), and segd seals
/// segments every hour, so a segment's records start in its partition's hour and may run into the
/// next: the partitions from `lookback` hours before `since`'s hour up to `until`'s hour can hold
/// matching records. Keys are compared as bytes, which orders these partitions by time.
public struct PartitionRange: Sendable, Equatable {
    static let hourNanos: Int64 = 3_600_000_000_000

    /// List keys after this one (the first partition's name without its `/`), nil from the start.
    public let startAfter: String?
    /// Keys from this one on (the partition after the last) are past the range, nil to the end.
    public let stop: String?

    /// Bounds for the stream at `streamPrefix` (ending in `/`).
    public init(streamPrefix: String, since: Int64?, until: Int64?, lookbackHours: Int) {
        startAfter = since.map { since in
            let hour = Self.floorHour(since) - Int64(max(0, lookbackHours))
            return streamPrefix + Self.partition(hour: hour)
        }
        stop = until.map { until in
            // The hour of the last instant before `until`, then the partition after it.
            streamPrefix + Self.partition(hour: Self.floorHour(until &- 1) + 1)
        }
    }

    /// The `dt=` day prefixes under `streamPrefix` from the first partition of the range to the last,
    /// when both ends are set and at most `maxDays` apart; nil otherwise.
    public static func dayPrefixes(streamPrefix: String, since: Int64?, until: Int64?, lookbackHours: Int, maxDays: Int) -> [String]? {
        guard let since, let until, until > since else { return nil }
        let first = floorDay(floorHour(since) - Int64(max(0, lookbackHours)))
        let last = floorDay(floorHour(until &- 1))
        guard last - first < Int64(maxDays) else { return nil }
        return (first...last).map { streamPrefix + String(partition(hour: $0 * 24).prefix(13)) + "/" }
    }

    /// Days since the epoch of an hour since the epoch (floored).
    static func floorDay(_ hour: Int64) -> Int64 {
        hour >= 0 ? hour / 24 : (hour - 23) / 24
    }

    /// Whether `key` is inside the bounds.
    public func contains(_ key: String) -> Bool {
        if let startAfter, !(key > startAfter) { return false }
        if let stop, key >= stop { return false }
        return true
    }

    /// Whether some key under `prefix` can be inside the bounds.
    public func overlaps(prefix: String) -> Bool {
        if let stop, stop <= prefix { return false }
        if let startAfter, startAfter > prefix, !startAfter.hasPrefix(prefix) { return false }
        return true
    }

    /// Hours since the epoch of the hour holding `nanos` (floored, also before 1970).
    static func floorHour(_ nanos: Int64) -> Int64 {
        let q = nanos / hourNanos
        return nanos % hourNanos < 0 ? q - 1 : q
    }

    /// `dt=YYYY-MM-DD/hour=HH` of an hour since the epoch.
    static func partition(hour: Int64) -> String {
        var days = hour / 24
        var h = hour % 24
        if h < 0 {
            h += 24
            days -= 1
        }
        let (y, m, d) = civil(fromDays: days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(abs(v))
            return (v < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "dt=\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))/hour=\(pad(h, 2))"
    }

    /// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian; Hinnant's algorithm).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
