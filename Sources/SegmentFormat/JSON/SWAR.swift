/// Byte tests on eight bytes at once ("SIMD within a register"), for the string scanners of the
/// parser and the writer. Mycroft's zero-byte test: exact as a yes/no, and exact for the lowest hit.
public enum SWAR {
    // Computed, so inlined callers in other modules see constants rather than a global's accessor.
    @inlinable public static var ones: UInt64 { 0x0101_0101_0101_0101 }
    @inlinable public static var highs: UInt64 { 0x8080_8080_8080_8080 }

    /// High bit set in each byte of `w` that is `"`, `\\` or below 0x20 (the bytes JSON strings escape).
    @inlinable @inline(__always)
    public static func specialMask(_ w: UInt64) -> UInt64 {
        let quote = w ^ (ones &* 0x22)
        let slash = w ^ (ones &* 0x5C)
        let hasQuote = (quote &- ones) & ~quote
        let hasSlash = (slash &- ones) & ~slash
        let hasControl = (w &- ones &* 0x20) & ~w
        return (hasQuote | hasSlash | hasControl) & highs
    }
}
