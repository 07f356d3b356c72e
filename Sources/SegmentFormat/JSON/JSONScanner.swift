#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cursor over one line of JSON text in raw bytes: whitespace, strings (validated, optionally
/// unescaped into a buffer), numbers and whole values, with errors that say what was expected.
///
/// Hot path of ingest (every record goes through it): pointer arithmetic, no allocation, eight
/// bytes at a time where it pays. Guarded by `tools/bench/format` (pack MB/s).
public struct JSONScanner {
    public let p: UnsafePointer<UInt8>
    public let end: Int
    public var i: Int

    @inlinable
    public init(_ p: UnsafePointer<UInt8>, count: Int) {
        self.p = p
        self.end = count
        self.i = 0
    }

    /// A syntax or type problem at byte `offset` of the line.
    public struct Failure: Error {
        public let message: String
        public let offset: Int

        @inlinable
        public init(message: String, offset: Int) {
            self.message = message
            self.offset = offset
        }
    }

    @inlinable @inline(__always)
    public func fail(_ message: String) -> Failure { Failure(message: message, offset: i) }

    @inlinable @inline(__always)
    public var atEnd: Bool { i >= end }

    @inlinable @inline(__always)
    public var current: UInt8 { i < end ? p[i] : 0 }

    @inlinable @inline(__always)
    public mutating func skipSpace() {
        while i < end {
            let c = p[i]
            if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A { i += 1 } else { return }
        }
    }

    @inlinable @inline(__always)
    public mutating func expect(_ c: UInt8, _ what: String) throws(Failure) {
        guard i < end, p[i] == c else { throw fail("expected \(what)") }
        i += 1
    }

    /// Describes the JSON value that starts at the cursor, for "expected X, got Y" messages.
    public var kindHere: String {
        switch current {
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        case UInt8(ascii: "-"), 0x30...0x39: "a number"
        case 0: "the end of the line"
        default: "invalid JSON"
        }
    }

    // MARK: Strings

    /// High bit set in each byte of `w` that is `"`, `\\`, below 0x20 or above 0x7F; the lowest set
    /// bit is exact, so `trailingZeroBitCount / 8` is the first byte that needs a look.
    @inlinable @inline(__always)
    public static func attentionMask(_ w: UInt64) -> UInt64 {
        SWAR.specialMask(w) | (w & SWAR.highs)
    }

    /// Scans a string whose opening quote is at the cursor. Returns the range of its raw content
    /// (between the quotes) and whether it has escapes; validates escapes and UTF-8.
    @inlinable @inline(__always)
    public mutating func scanString() throws(Failure) -> (start: Int, end: Int, escaped: Bool) {
        i += 1
        let start = i
        var escaped = false
        while true {
            if i + 8 <= end {
                let mask = Self.attentionMask(UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
                if mask == 0 {
                    i += 8
                    continue
                }
                i += mask.trailingZeroBitCount >> 3
            }
            guard i < end else { throw fail("unterminated string") }
            let c = p[i]
            if c == 0x22 {
                i += 1
                return (start, i - 1, escaped)
            } else if c == 0x5C {
                escaped = true
                try skipEscape()
            } else if c < 0x20 {
                throw fail("control character in a string (it must be escaped)")
            } else if c >= 0x80 {
                try skipUTF8()
            } else {
                i += 1
            }
        }
    }

    /// When the string at the cursor is exactly `name` (whose bytes need no escaping), steps past
    /// its closing quote and returns true; otherwise leaves the cursor alone. Compares eight bytes
    /// at a time: field names are short, and a `memcmp` call costs more than the comparison.
    @inlinable @inline(__always)
    public mutating func skipKey(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = name.count
        guard i + n + 2 <= end, p[i + n + 1] == 0x22, let base = name.baseAddress else { return false }
        let text = UnsafeRawPointer(p + i + 1)
        let expected = UnsafeRawPointer(base)
        var k = 0
        while k + 8 <= n {
            guard text.loadUnaligned(fromByteOffset: k, as: UInt64.self) == expected.loadUnaligned(fromByteOffset: k, as: UInt64.self) else { return false }
            k += 8
        }
        while k < n {
            guard text.load(fromByteOffset: k, as: UInt8.self) == expected.load(fromByteOffset: k, as: UInt8.self) else { return false }
            k += 1
        }
        i += n + 2
        return true
    }

    /// Fast path for an integer literal of at most 18 digits followed by a delimiter: returns its
    /// value and steps past it, or returns nil and leaves the cursor alone (then `scanNumber` decides).
    @inlinable @inline(__always)
    public mutating func scanShortInteger() -> Int64? {
        var k = i
        let negative = k < end && p[k] == UInt8(ascii: "-")
        if negative { k += 1 }
        let first = k
        var value: Int64 = 0
        while k < end {
            let d = p[k] &- 0x30
            guard d < 10 else { break }
            value = value &* 10 &+ Int64(d)
            k += 1
        }
        let digits = k - first
        guard digits > 0, digits <= 18, !(digits > 1 && p[first] == 0x30) else { return nil }
        // Anything but a delimiter after the digits (a fraction, an exponent, garbage): `scanNumber` decides.
        if k < end {
            let c = p[k]
            guard c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A else { return nil }
        }
        i = k
        return negative ? -value : value
    }

    @inlinable @inline(__always)
    internal mutating func skipEscape() throws(Failure) {
        guard i + 1 < end else { throw fail("unterminated string") }
        switch p[i + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            i += 2
        case UInt8(ascii: "u"):
            i += 2
            let unit = try hex4()
            if unit >= 0xD800 && unit < 0xDC00 {
                guard i + 1 < end, p[i] == 0x5C, p[i + 1] == UInt8(ascii: "u") else { throw fail("lone surrogate in a \\u escape") }
                i += 2
                let low = try hex4()
                guard low >= 0xDC00 && low < 0xE000 else { throw fail("invalid surrogate pair in a \\u escape") }
            } else if unit >= 0xDC00 && unit < 0xE000 {
                throw fail("lone surrogate in a \\u escape")
            }
        default:
            throw fail("invalid escape in a string")
        }
    }

    @inlinable @inline(__always)
    internal mutating func hex4() throws(Failure) -> UInt32 {
        guard i + 4 <= end else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = p[i + k]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid hex digit in a \\u escape")
            }
            v = v << 4 | d
        }
        i += 4
        return v
    }

    @inlinable @inline(__always)
    internal mutating func skipUTF8() throws(Failure) {
        let length = UTF8Validation.sequenceLength(UnsafeRawPointer(p + i), available: end - i)
        guard length > 0 else { throw fail("invalid UTF-8 in a string") }
        i += length
    }

    /// Appends the unescaped content of an already scanned string to `out`.
    public static func unescape(_ p: UnsafePointer<UInt8>, _ start: Int, _ stop: Int, into out: inout [UInt8]) {
        var k = start
        var run = start
        while k < stop {
            guard p[k] == 0x5C else {
                k += 1
                continue
            }
            out.append(contentsOf: UnsafeBufferPointer(start: p + run, count: k - run))
            let e = p[k + 1]
            k += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hexValue(p + k)
                k += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    let low = hexValue(p + k + 2)
                    k += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, &out)
            default: out.append(e)
            }
            run = k
        }
        out.append(contentsOf: UnsafeBufferPointer(start: p + run, count: stop - run))
    }

    @usableFromInline static func hexValue(_ q: UnsafePointer<UInt8>) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = q[k]
            v = v << 4 | UInt32(c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10)
        }
        return v
    }

    public static func appendUTF8(_ s: UInt32, _ out: inout [UInt8]) {
        switch s {
        case ..<0x80: out.append(UInt8(s))
        case ..<0x800: out.append(contentsOf: [UInt8(0xC0 | s >> 6), UInt8(0x80 | s & 0x3F)])
        case ..<0x10000: out.append(contentsOf: [UInt8(0xE0 | s >> 12), UInt8(0x80 | (s >> 6) & 0x3F), UInt8(0x80 | s & 0x3F)])
        default: out.append(contentsOf: [UInt8(0xF0 | s >> 18), UInt8(0x80 | (s >> 12) & 0x3F), UInt8(0x80 | (s >> 6) & 0x3F), UInt8(0x80 | s & 0x3F)])
        }
    }

    // MARK: Numbers

    /// A JSON number's parts, checked against the JSON grammar.
    public struct NumberText {
        public var start: Int
        public var end: Int
        public var negative: Bool
        /// The first up-to-19 significant digits as an integer, and how many digits there were in all.
        public var mantissa: UInt64
        public var digits: Int
        /// Decimal exponent to apply to `mantissa` (fraction digits and `e` part, and digits past 19).
        public var exponent: Int
        public var isInteger: Bool

        @inlinable
        public init(start: Int, end: Int, negative: Bool, mantissa: UInt64, digits: Int, exponent: Int, isInteger: Bool) {
            self.start = start
            self.end = end
            self.negative = negative
            self.mantissa = mantissa
            self.digits = digits
            self.exponent = exponent
            self.isInteger = isInteger
        }
    }

    @inlinable @inline(__always)
    public mutating func scanNumber() throws(Failure) -> NumberText {
        let start = i
        var negative = false
        if i < end && p[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        guard i < end, p[i] >= 0x30, p[i] <= 0x39 else { throw fail("invalid number") }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        if p[i] == 0x30 {
            i += 1
            if i < end, p[i] >= 0x30, p[i] <= 0x39 { throw fail("invalid number (leading zero)") }
        } else {
            while i < end, p[i] >= 0x30, p[i] <= 0x39 {
                if digits < 19 { mantissa = mantissa &* 10 &+ UInt64(p[i] - 0x30) } else { exponent += 1 }
                digits += 1
                i += 1
            }
        }
        var isInteger = true
        if i < end, p[i] == UInt8(ascii: ".") {
            isInteger = false
            i += 1
            guard i < end, p[i] >= 0x30, p[i] <= 0x39 else { throw fail("invalid number (no digit after '.')") }
            while i < end, p[i] >= 0x30, p[i] <= 0x39 {
                if digits < 19 {
                    if mantissa != 0 || p[i] != 0x30 { digits += 1 }
                    mantissa = mantissa &* 10 &+ UInt64(p[i] - 0x30)
                    exponent -= 1
                }
                i += 1
            }
        }
        if i < end, p[i] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            i += 1
            var expNegative = false
            if i < end, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") {
                expNegative = p[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < end, p[i] >= 0x30, p[i] <= 0x39 else { throw fail("invalid number (no digit in exponent)") }
            var e = 0
            while i < end, p[i] >= 0x30, p[i] <= 0x39 {
                if e < 100_000 { e = e * 10 + Int(p[i] - 0x30) }
                i += 1
            }
            exponent += expNegative ? -e : e
        }
        return NumberText(start: start, end: i, negative: negative, mantissa: mantissa, digits: digits, exponent: exponent, isInteger: isInteger)
    }

    /// The value of an integer literal, or nil when it does not fit in 64 bits.
    @inlinable @inline(__always)
    public func integerValue(_ n: NumberText) -> Int64? {
        guard n.digits <= 19, n.exponent == 0 else { return nil }
        if n.negative {
            return n.mantissa <= UInt64(Int64.max) + 1 ? Int64(bitPattern: 0 &- n.mantissa) : nil
        }
        return n.mantissa <= UInt64(Int64.max) ? Int64(n.mantissa) : nil
    }

    @usableFromInline static let powersOfTen: [Double] = (0...22).map { e in (0..<e).reduce(1.0) { r, _ in r * 10 } }

    /// The double nearest to the number (correctly rounded): exact arithmetic when the mantissa and
    /// the power of ten are both exact doubles (Clinger's fast path), `strtod` otherwise.
    @inlinable @inline(__always)
    public func doubleValue(_ n: NumberText) -> Double {
        if n.mantissa < (1 << 53) && n.digits <= 19 && n.exponent >= -22 && n.exponent <= 22 {
            var v = Double(n.mantissa)
            v = n.exponent < 0 ? v / Self.powersOfTen[-n.exponent] : v * Self.powersOfTen[n.exponent]
            return n.negative ? -v : v
        }
        let length = n.end - n.start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buf in
            for k in 0..<length { buf[k] = CChar(bitPattern: p[n.start + k]) }
            buf[length] = 0
            return strtod(buf.baseAddress!, nil)
        }
    }

    // MARK: Whole values

    /// Skips one JSON value, validating it; nesting is bounded.
    public mutating func skipValue(depth: Int = 0) throws(Failure) {
        guard depth < 256 else { throw fail("nesting deeper than 256") }
        switch current {
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "{"):
            i += 1
            skipSpace()
            if current == UInt8(ascii: "}") { i += 1; return }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else { throw fail("expected a member name in quotes") }
                _ = try scanString()
                skipSpace()
                try expect(UInt8(ascii: ":"), "':' after a member name")
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "}"), "',' or '}' in an object")
                return
            }
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if current == UInt8(ascii: "]") { i += 1; return }
            while true {
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") { i += 1; continue }
                try expect(UInt8(ascii: "]"), "',' or ']' in an array")
                return
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try scanNumber()
        }
    }

    @inlinable @inline(__always)
    public mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard i + n <= end, memcmp(p + i, word.utf8Start, n) == 0 else { throw fail("invalid literal") }
        i += n
    }
}
