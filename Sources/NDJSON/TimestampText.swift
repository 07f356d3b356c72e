import SegmentFormat

/// Formats timestamps as RFC 3339 UTC, remembering the last day's date text: log rows are in time
/// order, so the calendar arithmetic runs once a day of data, not once a row. Quoted for JSON
/// (`write`), bare for CSV and TSV (`writeUnquoted`, used by the query module's writers).
public struct TimestampText {
    private var day = Int64.min
    /// "YYYY-MM-DDT" of `day`.
    private var date: (UInt64, UInt64) = (0, 0)

    public init() {}

    @inline(__always)
    mutating func write(_ ns: Int64, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        p[0] = UInt8(ascii: "\"")
        let end = writeUnquoted(ns, to: p + 1)
        end[0] = UInt8(ascii: "\"")
        return end + 1
    }

    /// Writes at most 30 bytes at `p`; returns the position after them.
    @inline(__always)
    public mutating func writeUnquoted(_ ns: Int64, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        let (days, secondOfDay, fraction) = RFC3339.split(ns)
        if days != day {
            day = days
            // The date's text, computed from the day number (a day's midnight may lie before the
            // earliest instant an Int64 of nanoseconds holds).
            withUnsafeMutableBytes(of: &date) { raw in
                RFC3339.writeDate(days: Int(days), to: raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        withUnsafeBytes(of: date) { raw in
            UnsafeMutableRawPointer(p).copyMemory(from: raw.baseAddress!, byteCount: 11)
        }
        return p + 11 + RFC3339.writeClock(secondOfDay: secondOfDay, fraction: fraction, to: p + 11)
    }
}
