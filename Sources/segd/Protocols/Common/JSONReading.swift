#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NDJSON
import SegmentFormat

/// Walking a JSON body from its bytes with the NDJSON parser's scanner: the members of an object,
/// the elements of an array, and strings and numbers as the protocols' fields need them. Keys are
/// compared without unescaping unless they hold an escape.
extension JSONScanner {
    /// The name of an object member as scanned: its raw content between the quotes.
    struct Key {
        let start: Int
        let end: Int
        let escaped: Bool
        let p: UnsafePointer<UInt8>

        /// Whether the key is `name` (once unescaped).
        func `is`(_ name: StaticString) -> Bool {
            let n = name.utf8CodeUnitCount
            if !escaped {
                return end - start == n && memcmp(p + start, name.utf8Start, n) == 0
            }
            var text: [UInt8] = []
            JSONScanner.unescape(p, start, end, into: &text)
            return text.count == n && memcmp(text, name.utf8Start, n) == 0
        }

        /// The key, unescaped.
        var bytes: [UInt8] {
            var text: [UInt8] = []
            JSONScanner.unescape(p, start, end, into: &text)
            return text
        }

        var string: String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Calls `body` once per member of the object at the cursor, with the cursor on the member's
    /// value; `body` must consume the value (read it, or `skipValue()`).
    mutating func forEachMember(_ body: (inout JSONScanner, Key) throws(Failure) -> Void) throws(Failure) {
        skipSpace()
        guard current == UInt8(ascii: "{") else { throw fail("expected an object, got \(kindHere)") }
        i += 1
        skipSpace()
        if current == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            skipSpace()
            guard current == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
            let name = try scanString()
            skipSpace()
            try expect(UInt8(ascii: ":"), "':' after a member name")
            skipSpace()
            try body(&self, Key(start: name.start, end: name.end, escaped: name.escaped, p: p))
            skipSpace()
            if current == UInt8(ascii: ",") {
                i += 1
                continue
            }
            try expect(UInt8(ascii: "}"), "',' or '}' in an object")
            return
        }
    }

    /// Calls `body` once per element of the array at the cursor, with the cursor on the element;
    /// `body` must consume it.
    mutating func forEachElement(_ body: (inout JSONScanner) throws(Failure) -> Void) throws(Failure) {
        skipSpace()
        guard current == UInt8(ascii: "[") else { throw fail("expected an array, got \(kindHere)") }
        i += 1
        skipSpace()
        if current == UInt8(ascii: "]") {
            i += 1
            return
        }
        while true {
            skipSpace()
            try body(&self)
            skipSpace()
            if current == UInt8(ascii: ",") {
                i += 1
                continue
            }
            try expect(UInt8(ascii: "]"), "',' or ']' in an array")
            return
        }
    }

    /// The raw content of the string at the cursor (between its quotes, escapes kept).
    mutating func rawString() throws(Failure) -> (content: UnsafeRawBufferPointer, escaped: Bool) {
        guard current == UInt8(ascii: "\"") else { throw fail("expected a string, got \(kindHere)") }
        let s = try scanString()
        return (UnsafeRawBufferPointer(start: p + s.start, count: s.end - s.start), s.escaped)
    }

    /// The string at the cursor, unescaped.
    mutating func string() throws(Failure) -> String {
        guard current == UInt8(ascii: "\"") else { throw fail("expected a string, got \(kindHere)") }
        let s = try scanString()
        if !s.escaped { return String(decoding: UnsafeBufferPointer(start: p + s.start, count: s.end - s.start), as: UTF8.self) }
        var text: [UInt8] = []
        JSONScanner.unescape(p, s.start, s.end, into: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// The string at the cursor, unescaped, as bytes.
    mutating func stringBytes() throws(Failure) -> [UInt8] {
        guard current == UInt8(ascii: "\"") else { throw fail("expected a string, got \(kindHere)") }
        let s = try scanString()
        var text: [UInt8] = []
        if s.escaped {
            JSONScanner.unescape(p, s.start, s.end, into: &text)
        } else {
            text.append(contentsOf: UnsafeBufferPointer(start: p + s.start, count: s.end - s.start))
        }
        return text
    }

    /// The value at the cursor, skipped and validated, as its raw JSON text.
    mutating func rawValue() throws(Failure) -> UnsafeRawBufferPointer {
        let start = i
        try skipValue()
        return UnsafeRawBufferPointer(start: p + start, count: i - start)
    }

    /// Whether the value at the cursor is `null` (then consumed).
    mutating func takeNull() throws(Failure) -> Bool {
        guard current == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    /// A 64-bit integer written as a JSON number or as a string of digits, as proto3's JSON
    /// mapping writes 64-bit fields.
    mutating func int64() throws(Failure) -> Int64 {
        let quoted = current == UInt8(ascii: "\"")
        let start = i
        if quoted { i += 1 }
        guard current == UInt8(ascii: "-") || (current >= 0x30 && current <= 0x39) else {
            i = start
            throw fail("expected an integer, got \(kindHere)")
        }
        let n = try scanNumber()
        guard let v = integerValue(n), n.isInteger else {
            throw Failure(message: "expected a 64-bit integer", offset: n.start)
        }
        if quoted { try expect(UInt8(ascii: "\""), "'\"' after the integer") }
        return v
    }

    /// A number (or a quoted one, or proto3's "NaN", "Infinity" and "-Infinity").
    mutating func double() throws(Failure) -> Double {
        if current == UInt8(ascii: "\"") {
            let text = try string()
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let v = Double(text) else { throw fail("expected a number, got the string '\(text.prefix(40))'") }
                return v
            }
        }
        guard current == UInt8(ascii: "-") || (current >= 0x30 && current <= 0x39) else {
            throw fail("expected a number, got \(kindHere)")
        }
        return doubleValue(try scanNumber())
    }

    mutating func bool() throws(Failure) -> Bool {
        switch current {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw fail("expected true or false, got \(kindHere)")
        }
    }
}
