import SegmentFormat

/// Numbers of seconds, milliseconds, microseconds or nanoseconds since the epoch, in nanoseconds,
/// exactly: from the number's decimal digits, never through a double, so `1714564800.123456789`
/// seconds is `1714564800123456789` ns. Digits past the nanosecond are dropped toward the earlier
/// instant. Used for timestamp fields with an `x-segment.timestamp-unit`, and by the adapters of
/// protocols that send such numbers (Splunk HEC's `time`).
public enum EpochTimestamp {
    /// The number scanned as `n`, in `unit`s since the epoch; nil outside the `Int64` range.
    public static func nanoseconds(_ n: JSONScanner.NumberText, unit: TimestampUnit) -> Int64? {
        nanoseconds(n, exponent: unit.nanosecondExponent)
    }

    /// The JSON number filling all `count` bytes at `p`, in `unit`s since the epoch; nil when the
    /// bytes are not a number or it is out of range.
    public static func nanoseconds(_ p: UnsafePointer<UInt8>, count: Int, unit: TimestampUnit) -> Int64? {
        var s = JSONScanner(p, count: count)
        guard let n = try? s.scanNumber(), s.atEnd else { return nil }
        return nanoseconds(n, unit: unit)
    }

    static func nanoseconds(_ n: JSONScanner.NumberText, exponent unitExponent: Int) -> Int64? {
        if n.mantissa == 0 { return 0 }
        let e = n.exponent + unitExponent
        var magnitude = n.mantissa
        var dropped = false
        if e >= 0 {
            guard e <= 19 else { return nil }
            for _ in 0..<e {
                let (m, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                magnitude = m
            }
        } else if e < -19 {
            magnitude = 0
            dropped = true
        } else {
            var divisor: UInt64 = 1
            for _ in 0 ..< -e { divisor *= 10 }
            dropped = magnitude % divisor != 0
            magnitude /= divisor
        }
        if n.negative {
            if dropped { magnitude += 1 }
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return Int64(bitPattern: 0 &- magnitude)
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }
}
