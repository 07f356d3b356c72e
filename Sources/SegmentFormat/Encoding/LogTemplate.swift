/// Splits a log message into a template and typed variables, the way CLP does (Rodrigues et al.,
/// OSDI 2021): tokens are the runs between delimiters; a token without a digit is template text;
/// a hex-like token (ids, hashes, addresses) is a dictionary variable; in any other token each run
/// of digits is an integer variable (zero-padded runs keep their width in the template) and the
/// rest is template text. `docs/segment-format.md` (log-text) is the contract; this is its
/// reference tokenizer, shared by the encoder and by queries that look values up by template.
///
/// Hot path of ingest for text columns; guarded by `tools/bench/format`.
public enum LogTemplate {
    /// In template text: the next byte is literal (one of the four marker bytes).
    public static let escapeMarker: UInt8 = 0x10
    /// An integer variable: `0`, or `-?[1-9][0-9]*` that fits in an `Int64`.
    public static let integerMarker: UInt8 = 0x11
    /// A dictionary variable.
    public static let dictionaryMarker: UInt8 = 0x12
    /// A zero-padded run of digits; the next byte is its width (2 to 18).
    public static let paddedMarker: UInt8 = 0x13

    /// Digits a zero-padded variable may have (and an integer, short of 19 digits that fit in an `Int64`).
    static let maxDigits = 18
    /// Longest hex-like token kept as one dictionary variable.
    static let maxHexToken = 128

    /// One variable of a message.
    public enum Variable: Equatable, Sendable {
        case integer(Int64)
        case padded(width: Int, value: Int64)
        case dictionary(Range<Int>)
    }

    /// Byte classes: 1 delimiter, 2 digit, 4 hex letter, 8 other letter-or-punctuation allowed in a hex-like token.
    @usableFromInline static let classes: [UInt8] = {
        var c = [UInt8](repeating: 0, count: 256)
        for b in 0..<0x20 { c[b] = 1 }
        for b in Array(" =:,;()[]{}\"'<>|".utf8) { c[Int(b)] = 1 }
        for b in UInt8(ascii: "0")...UInt8(ascii: "9") { c[Int(b)] = 2 }
        for b in Array("abcdefABCDEF".utf8) { c[Int(b)] = 4 }
        for b in Array("-.".utf8) { c[Int(b)] = 8 }
        return c
    }()

    /// Appends the template of `text` to `template` and its variables to `variables` (dictionary
    /// variables as ranges of `text`).
    public static func split(_ text: UnsafeBufferPointer<UInt8>, template: inout [UInt8], variables: inout [Variable]) {
        let n = text.count
        guard n > 0, let p = text.baseAddress else { return }
        classes.withUnsafeBufferPointer { cls in
            var i = 0
            while i < n {
                if cls[Int(p[i])] == 1 {
                    appendLiteral(p[i], &template)
                    i += 1
                    continue
                }
                var j = i
                var kinds: UInt8 = 0
                while j < n {
                    let k = cls[Int(p[j])]
                    if k == 1 { break }
                    kinds |= k == 0 ? 16 : k
                    j += 1
                }
                if kinds & 2 == 0 {
                    for k in i..<j { appendLiteral(p[k], &template) }
                } else if isHexLike(p, i, j, kinds) {
                    template.append(dictionaryMarker)
                    variables.append(.dictionary(i..<j))
                } else {
                    splitDigits(p, i, j, &template, &variables)
                }
                i = j
            }
        }
    }

    /// Hex digits, `-` and `.` only (after an optional `0x`), at least one hex letter and one
    /// digit: an id, a hash, an address. Kept whole, since splitting it would make a template per id.
    @inline(__always)
    static func isHexLike(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ kinds: UInt8) -> Bool {
        guard end - start <= maxHexToken else { return false }
        var s = start
        if end - s > 2, p[s] == UInt8(ascii: "0"), p[s + 1] | 0x20 == UInt8(ascii: "x") { s += 2 }
        var hasLetter = false
        for k in s..<end {
            let c = classes[Int(p[k])]
            if c == 4 { hasLetter = true } else if c != 2 && c != 8 { return false }
        }
        return hasLetter
    }

    private static func splitDigits(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, _ template: inout [UInt8], _ variables: inout [Variable]) {
        var k = start
        while k < end {
            let c = p[k]
            guard c >= 0x30 && c <= 0x39 else {
                appendLiteral(c, &template)
                k += 1
                continue
            }
            var e = k
            while e < end, p[e] >= 0x30, p[e] <= 0x39 { e += 1 }
            let digits = e - k
            // A '-' just before the digits is the sign when nothing alphanumeric precedes it.
            let signed = template.last == UInt8(ascii: "-") && k - 1 >= start && p[k - 1] == UInt8(ascii: "-")
                && (k - 1 == start || classes[Int(p[k - 2])] & 6 == 0 && !isLetter(p[k - 2]))
                && !(digits == 1 && p[k] == 0x30)
            if digits > maxDigits + 1 || (digits == maxDigits + 1 && !fitsInt64(p, k, e, negative: signed)) {
                template.append(dictionaryMarker)
                variables.append(.dictionary(k..<e))
            } else if p[k] == 0x30 && digits > 1 && digits <= maxDigits {
                var v: Int64 = 0
                for q in k..<e { v = v * 10 + Int64(p[q] - 0x30) }
                template.append(paddedMarker)
                template.append(UInt8(digits))
                variables.append(.padded(width: digits, value: v))
            } else if p[k] == 0x30 && digits > 1 {
                template.append(dictionaryMarker)
                variables.append(.dictionary(k..<e))
            } else {
                // Accumulated negatively, so that -9223372036854775808 fits.
                var v: Int64 = 0
                for q in k..<e { v = v &* 10 &- Int64(p[q] - 0x30) }
                if signed {
                    template.removeLast()
                } else {
                    v = 0 &- v
                }
                template.append(integerMarker)
                variables.append(.integer(v))
            }
            k = e
        }
    }

    /// Whether the 19 digits `p[start..<end]` fit in an `Int64` (with a sign, one more fits).
    private static func fitsInt64(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int, negative: Bool) -> Bool {
        let limit = Array((negative ? "9223372036854775808" : "9223372036854775807").utf8)
        for (q, c) in zip(start..<end, limit) where p[q] != c { return p[q] < c }
        return true
    }

    @inline(__always)
    private static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }

    @inline(__always)
    static func appendLiteral(_ c: UInt8, _ template: inout [UInt8]) {
        if c >= escapeMarker && c <= paddedMarker { template.append(escapeMarker) }
        template.append(c)
    }
}
