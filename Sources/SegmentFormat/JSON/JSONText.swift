#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks that JSON text read from a segment is what a writer could have stored there, before it is
/// copied into NDJSON output: a crafted value must not be able to end a record early or add one.
///
/// Strict JSON (RFC 8259) with the nesting bound of `JSONScanner`; a line feed anywhere is refused,
/// since a record is one line.
public enum JSONText {
    /// Whether `text` is exactly one JSON object or array (a `json` column's value).
    public static func isContainer(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self), !hasLineFeed(text) else { return false }
        let first = base[0]
        guard first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else { return false }
        var s = JSONScanner(base, count: text.count)
        do {
            try s.skipValue()
        } catch {
            return false
        }
        s.skipSpace()
        return s.atEnd
    }

    /// Whether `text` is one or more object members, `"name":value` separated by commas, without
    /// the braces (an `extra` column's value).
    public static func isMembers(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self), !hasLineFeed(text) else { return false }
        var s = JSONScanner(base, count: text.count)
        do {
            while true {
                s.skipSpace()
                guard s.current == UInt8(ascii: "\"") else { return false }
                _ = try s.scanString()
                s.skipSpace()
                try s.expect(UInt8(ascii: ":"), "':'")
                s.skipSpace()
                try s.skipValue()
                s.skipSpace()
                if s.atEnd { return true }
                try s.expect(UInt8(ascii: ","), "','")
            }
        } catch {
            return false
        }
    }

    private static func hasLineFeed(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let base = text.baseAddress else { return false }
        return memchr(base, 0x0A, text.count) != nil
    }
}
