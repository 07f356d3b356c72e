import SegmentFormat

/// LIKE, ILIKE and equality on a log-text chunk's templates first (spec: Log text): for each
/// template, whether every value with it matches (the pattern's text lies in the template's own
/// text), none can (no way of filling its variables lets the pattern match: a variable holds
/// digits and `-`, or one of the chunk's dictionary variables), or some may; only the values of
/// the last kind are rebuilt and matched one by one. For `%word%` over log messages most
/// templates are decided outright, so most strings are never rebuilt.
///
/// Patterns of the shapes `abc`, `abc%`, `%abc`, `%abc%` (the ones queries over logs use) are
/// decided here; any other shape returns nil and the caller matches rebuilt strings. Guarded by
/// `tools/bench/query` (Q5, ILIKE over loghub).
enum TemplateMatch {
    enum Verdict: UInt8 {
        case never = 0, always = 1, maybe = 2
    }

    /// One position of a template: a byte of its text, or a variable (a non-empty run of bytes of
    /// its alphabet, a set of 256 bits).
    private enum Token {
        case byte(UInt8)
        case variable(Alphabet)
    }

    private struct Alphabet {
        var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        mutating func insert(_ b: UInt8) {
            let bit = UInt64(1) << UInt64(b & 63)
            switch b >> 6 {
            case 0: bits.0 |= bit
            case 1: bits.1 |= bit
            case 2: bits.2 |= bit
            default: bits.3 |= bit
            }
        }

        func contains(_ b: UInt8) -> Bool {
            let bit = UInt64(1) << UInt64(b & 63)
            switch b >> 6 {
            case 0: return bits.0 & bit != 0
            case 1: return bits.1 & bit != 0
            case 2: return bits.2 & bit != 0
            default: return bits.3 & bit != 0
            }
        }

        static let digits: Alphabet = {
            var a = Alphabet()
            for b in UInt8(ascii: "0")...UInt8(ascii: "9") { a.insert(b) }
            return a
        }()

        static let signedDigits: Alphabet = {
            var a = digits
            a.insert(UInt8(ascii: "-"))
            return a
        }()
    }

    /// A verdict per template for `pattern`, or nil when its shape is not one decided here.
    static func verdicts(_ pattern: LikePattern, _ values: LogTextValues) -> [Verdict]? {
        switch pattern.shape {
        case let .exact(l): verdicts(l, anchoredStart: true, anchoredEnd: true, folded: pattern.caseInsensitive, values)
        case let .prefix(l): verdicts(l, anchoredStart: true, anchoredEnd: false, folded: pattern.caseInsensitive, values)
        case let .suffix(l): verdicts(l, anchoredStart: false, anchoredEnd: true, folded: pattern.caseInsensitive, values)
        case let .contains(l): verdicts(l, anchoredStart: false, anchoredEnd: false, folded: pattern.caseInsensitive, values)
        case .general: nil
        }
    }

    /// A verdict per template for values equal to `literal`.
    static func equalityVerdicts(_ literal: [UInt8], _ values: LogTextValues) -> [Verdict] {
        verdicts(literal, anchoredStart: true, anchoredEnd: true, folded: false, values)
    }

    private static func verdicts(_ literal: [UInt8], anchoredStart: Bool, anchoredEnd: Bool, folded: Bool, _ values: LogTextValues) -> [Verdict] {
        let dictionary = dictionaryAlphabet(values.dictionary, folded: folded)
        return values.templates.map { template in
            let tokens = tokens(template, dictionary: dictionary, folded: folded)
            return decide(tokens, literal, anchoredStart: anchoredStart, anchoredEnd: anchoredEnd)
        }
    }

    /// Every byte of the chunk's dictionary variables (lower-cased for ILIKE): what such a variable can hold.
    private static func dictionaryAlphabet(_ dictionary: StringValues, folded: Bool) -> Alphabet {
        var a = Alphabet()
        for b in dictionary.bytes {
            a.insert(b)
            if folded && b >= 0x41 && b <= 0x5A { a.insert(b | 0x20) }
        }
        // Folding can turn a non-ASCII letter into other bytes: any byte above 0x7F may appear.
        if folded && dictionary.bytes.contains(where: { $0 >= 0x80 }) { for b in 0x80...0xFF { a.insert(UInt8(b)) } }
        return a
    }

    private static func tokens(_ template: LogTextValues.Template, dictionary: Alphabet, folded: Bool) -> [Token] {
        var out: [Token] = []
        var from = 0
        func text(_ range: Range<Int>) {
            guard !range.isEmpty else { return }
            let bytes = Array(template.literal[range])
            for b in folded ? fold(bytes) : bytes { out.append(.byte(b)) }
        }
        for (s, at) in template.slotOffsets.enumerated() {
            text(from..<at)
            from = at
            switch template.slots[s] {
            case .integer: out.append(.variable(.signedDigits))
            case .padded: out.append(.variable(.digits))
            case .dictionary: out.append(.variable(dictionary))
            }
        }
        text(from..<template.literal.count)
        return out
    }

    /// Lower-cases text as ILIKE folds a value (one scalar at a time).
    private static func fold(_ bytes: [UInt8]) -> [UInt8] {
        if !bytes.contains(where: { $0 >= 0x80 }) { return bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 } }
        var out: [UInt8] = []
        for u in String(decoding: bytes, as: UTF8.self).unicodeScalars { out.append(contentsOf: String(LikePattern.fold(u)).utf8) }
        return out
    }

    /// Always when the pattern lies in the template's own text; never when no filling of its
    /// variables can match (an automaton over the template's positions, a variable taking one or
    /// more bytes of its alphabet); maybe otherwise.
    private static func decide(_ tokens: [Token], _ literal: [UInt8], anchoredStart: Bool, anchoredEnd: Bool) -> Verdict {
        if alwaysMatches(tokens, literal, anchoredStart: anchoredStart, anchoredEnd: anchoredEnd) { return .always }
        let n = tokens.count
        var states = [Bool](repeating: !anchoredStart, count: n + 1)
        states[0] = true
        for x in literal {
            var next = [Bool](repeating: false, count: n + 1)
            var any = false
            for p in 0..<n where states[p] {
                switch tokens[p] {
                case let .byte(c):
                    if c == x { next[p + 1] = true; any = true }
                case let .variable(a):
                    if a.contains(x) { next[p] = true; next[p + 1] = true; any = true }
                }
            }
            guard any else { return .never }
            states = next
        }
        let matches = anchoredEnd ? states[n] : states.contains(true)
        guard matches else { return .never }
        // A template without variables is one string: a match is certain.
        return tokens.contains { if case .variable = $0 { true } else { false } } ? .maybe : .always
    }

    /// Whether the pattern lies in a run of the template's own text where it must: at the start,
    /// at the end, or anywhere.
    private static func alwaysMatches(_ tokens: [Token], _ literal: [UInt8], anchoredStart: Bool, anchoredEnd: Bool) -> Bool {
        // Runs of text between variables.
        var runs: [[UInt8]] = [[]]
        for t in tokens {
            switch t {
            case let .byte(b): runs[runs.count - 1].append(b)
            case .variable: runs.append([])
            }
        }
        switch (anchoredStart, anchoredEnd) {
        case (true, true): return false  // decided by the automaton (certain only without variables)
        case (true, false): return runs[0].starts(with: literal)
        case (false, true): return runs[runs.count - 1].reversed().starts(with: literal.reversed())
        case (false, false): return literal.isEmpty || runs.contains { contains($0, literal) }
        }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
        return false
    }

    /// One truth a row (unknown where the row has no value) from the verdicts, rebuilding and
    /// testing only the values whose template's verdict is maybe; `negated` flips the known truths.
    static func truths(_ chunk: DecodedChunk, _ values: LogTextValues, _ verdicts: [Verdict], negated: Bool,
                       _ test: (UnsafeBufferPointer<UInt8>) -> Bool) -> [UInt8] {
        let rows = chunk.rowCount
        var scratch: [UInt8] = []
        var out = [UInt8](repeating: Truth.unknown.rawValue, count: rows)
        var v = 0
        let flip: UInt8 = negated ? 1 : 0
        for r in 0..<rows where !chunk.isNull(r) && !chunk.isAbsent(r) {
            let truth: UInt8
            switch verdicts[Int(values.codes[v])] {
            case .never: truth = 0
            case .always: truth = 1
            case .maybe:
                scratch.removeAll(keepingCapacity: true)
                values.append(v, to: &scratch)
                truth = scratch.withUnsafeBufferPointer { test($0) } ? 1 : 0
            }
            out[r] = truth ^ flip
            v += 1
        }
        return out
    }
}
