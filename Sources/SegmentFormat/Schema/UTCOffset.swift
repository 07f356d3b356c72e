/// Offsets from UTC as date-times and schemas write them: `Z` (or `z`), `±HH:MM`, `±HHMM` or
/// `±HH`, with hours below 24 and minutes below 60. Used by the timestamp parser and by a schema's
/// `x-segment.default-offset`, so both accept the same spellings.
public enum UTCOffset {
    /// The offset filling all `count` bytes at `p`, in seconds east of UTC; nil when it is not one.
    @inline(__always)
    public static func seconds(_ p: UnsafePointer<UInt8>, count n: Int) -> Int? {
        if n == 1 { return p[0] == 0x5A || p[0] == 0x7A ? 0 : nil }
        guard n == 3 || n == 5 || n == 6, p[0] == 0x2B || p[0] == 0x2D else { return nil }
        @inline(__always) func two(_ k: Int) -> Int? {
            let a = p[k] &- 0x30, b = p[k + 1] &- 0x30
            return a < 10 && b < 10 ? Int(a) * 10 + Int(b) : nil
        }
        guard let hours = two(1), hours < 24 else { return nil }
        var minutes = 0
        if n > 3 {
            if n == 6 { guard p[3] == 0x3A else { return nil } }
            guard let m = two(n - 2), m < 60 else { return nil }
            minutes = m
        }
        return (hours * 3600 + minutes * 60) * (p[0] == 0x2D ? -1 : 1)
    }

    /// The offset written in `text`, in seconds east of UTC; nil when it is not one.
    public static func seconds(_ text: String) -> Int? {
        var s = text
        return s.withUTF8 { buf in buf.baseAddress.flatMap { seconds($0, count: buf.count) } }
    }
}
