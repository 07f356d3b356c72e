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
    /// What a stored JSON text must be.
    public enum Kind: Sendable {
        /// A json column's value: one object or array.
        case container
        /// An extra column's value: object members without braces.
        case members
        /// A shredded json column's value: any one JSON value.
        case value

        /// The kind a column of `type` holds.
        public init(_ type: ColumnType) {
            self = type == .extra ? .members : .container
        }
    }

    /// Whether `text` is JSON text of `kind`.
    public static func isValid(_ text: UnsafeRawBufferPointer, _ kind: Kind) -> Bool {
        switch kind {
        case .container: isContainer(text)
        case .members: isMembers(text)
        case .value: isValue(text)
        }
    }

    /// Whether `text` is exactly one JSON value.
    public static func isValue(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self), !hasLineFeed(text) else { return false }
        var s = JSONScanner(base, count: text.count)
        do {
            s.skipSpace()
            try s.skipValue()
        } catch {
            return false
        }
        s.skipSpace()
        return s.atEnd
    }

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
