#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits NDJSON input into lines (without `\n`, and without a trailing `\r`), numbered from 1,
/// skipping blank lines. Uses `memchr`, so it runs at memory speed.
public enum NDJSONLines {
    /// Calls `body(line, number)` for each non-blank line until it returns false.
    @inline(__always)
    public static func forEach(_ input: UnsafeRawBufferPointer, firstLine: Int = 1, _ body: (UnsafeRawBufferPointer, Int) -> Bool) {
        guard let base = input.baseAddress else { return }
        var start = 0
        var number = firstLine
        let n = input.count
        while start < n {
            let end: Int
            if let hit = memchr(base + start, 0x0A, n - start) {
                end = base.distance(to: UnsafeRawPointer(hit))
            } else {
                end = n
            }
            var stop = end
            if stop > start && base.load(fromByteOffset: stop - 1, as: UInt8.self) == 0x0D { stop -= 1 }
            if !isBlank(base, start, stop) {
                guard body(UnsafeRawBufferPointer(start: base + start, count: stop - start), number) else { return }
            }
            number += 1
            start = end + 1
        }
    }

    @inline(__always)
    static func isBlank(_ base: UnsafeRawPointer, _ start: Int, _ stop: Int) -> Bool {
        var k = start
        while k < stop {
            let c = base.load(fromByteOffset: k, as: UInt8.self)
            if c != 0x20 && c != 0x09 && c != 0x0D { return false }
            k += 1
        }
        return true
    }
}
