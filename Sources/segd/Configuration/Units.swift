/// Parses and prints the human units of segd's flags: durations (`500ms`, `1s`, `5m`, `1h`, `7d`)
/// and byte sizes (`65536`, `64KiB`, `16MiB`, `1GiB`, also `K`/`M`/`G` as powers of 1024).
enum Units {
    /// Nanoseconds, or nil when `text` is not a duration.
    static func duration(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000),
                                        ("h", 3_600_000_000_000), ("d", 86_400_000_000_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value * Double(scale) < 9e18 else { return nil }
            return Int64(value * Double(scale))
        }
        return nil
    }

    /// Bytes, or nil when `text` is not a size.
    static func bytes(_ text: String) -> Int? {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
                                      ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40), ("B", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0, value * Double(scale) < 9e18 else { return nil }
            return Int(value * Double(scale))
        }
        return Int(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// `16MiB`, `1023B`, `4GiB`: the largest unit that divides the value exactly.
    static func describe(bytes: Int) -> String {
        for (suffix, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where bytes != 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(suffix)"
        }
        return "\(bytes)B"
    }

    /// `30s`, `100ms`, `24h`: the largest unit that divides the value exactly.
    static func describe(nanoseconds: Int64) -> String {
        for (suffix, scale) in [("d", Int64(86_400_000_000_000)), ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000)]
        where nanoseconds != 0 && nanoseconds % scale == 0 {
            return "\(nanoseconds / scale)\(suffix)"
        }
        return nanoseconds == 0 ? "0s" : "\(nanoseconds)ns"
    }
}
