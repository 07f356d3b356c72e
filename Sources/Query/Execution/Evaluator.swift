import SegmentFormat

/// Evaluates a bound condition over one block, a column at a time, into one `Truth` a row.
/// Dictionary-encoded strings are compared once per dictionary entry, then rows look up their
/// code. Columns are decoded only when a part of the condition needs them, and the right side of
/// an AND (OR) is skipped when the left is false (true) for every row.
enum Evaluator {
    static func evaluate(_ e: BoundExpression, _ data: BlockData) throws -> [UInt8] {
        let rows = data.rowCount
        switch e {
        case let .constant(t):
            return [UInt8](repeating: t.rawValue, count: rows)
        case let .and(list):
            var result = try evaluate(list[0], data)
            for e in list.dropFirst() {
                if !result.contains(where: { $0 != Truth.false.rawValue }) { return result }
                combine(&result, try evaluate(e, data)) { x, y in
                    // Kleene AND: false wins; otherwise both are true (1) or unknown (2), and max says which.
                    x == 0 || y == 0 ? 0 : max(x, y)
                }
            }
            return result
        case let .or(list):
            var result = try evaluate(list[0], data)
            for e in list.dropFirst() {
                if !result.contains(where: { $0 != Truth.true.rawValue }) { return result }
                combine(&result, try evaluate(e, data)) { x, y in
                    // Kleene OR: true wins; otherwise both are false (0) or unknown (2), and max says which.
                    x == 1 || y == 1 ? 1 : max(x, y)
                }
            }
            return result
        case let .not(inner):
            var t = try evaluate(inner, data)
            t.withUnsafeMutableBufferPointer { t in
                for r in 0..<rows { t[r] = t[r] == 2 ? 2 : t[r] ^ 1 }
            }
            return t
        case let .isNull(c, negated):
            let chunk = try data.chunk(c)
            return (0..<rows).map { (chunk.isNull($0) || chunk.isAbsent($0)) != negated ? 1 : 0 }
        case let .integers(c, op, value):
            let chunk = try data.chunk(c)
            switch chunk.values {
            case let .integers(values): return values.withUnsafeBufferPointer { compare(chunk, $0, op, value) }
            case let .booleans(bits): return leaf(chunk) { op.holds(Int64(bits[$0]) < value ? -1 : Int64(bits[$0]) == value ? 0 : 1) }
            default: return try unknownOrMismatch(data, c)
            }
        case let .known(c, truth):
            return leafTruth(try data.chunk(c)) { _ in truth ? 1 : 0 }
        case let .numbers(c, op, value):
            let chunk = try data.chunk(c)
            guard case let .numbers(values) = chunk.values else { return try unknownOrMismatch(data, c) }
            return values.withUnsafeBufferPointer { compare(chunk, $0, op, value) }
        case let .inIntegers(c, set, hasNull, negated):
            let chunk = try data.chunk(c)
            switch chunk.values {
            case let .integers(values): return leafTruth(chunk) { membership(set.contains(values[$0]), hasNull, negated) }
            case let .booleans(bits): return leafTruth(chunk) { membership(set.contains(Int64(bits[$0])), hasNull, negated) }
            default: return try unknownOrMismatch(data, c)
            }
        case let .inNumbers(c, list, hasNull, negated):
            guard case let .numbers(values) = try data.chunk(c).values else { return try unknownOrMismatch(data, c) }
            return leafTruth(try data.chunk(c)) { membership(list.contains(values[$0]), hasNull, negated) }
        case let .strings(c, op, value):
            if op == .equal || op == .notEqual, let (chunk, text) = try data.logText(c) {
                let verdicts = TemplateMatch.equalityVerdicts(value, text)
                return TemplateMatch.truths(chunk, text, verdicts, negated: op == .notEqual) { $0.elementsEqual(value) }
            }
            return try strings(data, c) { bytes in
                op.holds(value.withUnsafeBufferPointer { ByteCompare.compare(bytes, $0) }) ? 1 : 0
            }
        case let .inStrings(c, set, hasNull, negated):
            return try strings(data, c) { bytes in membership(set.contains(Array(bytes)), hasNull, negated) }
        case let .like(c, pattern, negated):
            if let (chunk, text) = try data.logText(c), let verdicts = TemplateMatch.verdicts(pattern, text) {
                return TemplateMatch.truths(chunk, text, verdicts, negated: negated) { pattern.matches($0) }
            }
            return try strings(data, c) { bytes in pattern.matches(bytes) != negated ? 1 : 0 }
        }
    }

    /// A chunk with no values (all null or absent) makes every comparison unknown.
    private static func unknownOrMismatch(_ data: BlockData, _ c: Int) throws -> [UInt8] {
        if case .none = try data.chunk(c).values { return [UInt8](repeating: Truth.unknown.rawValue, count: data.rowCount) }
        throw QueryError("column '\(data.segment.header.columns[c].name)' decoded to values of an unexpected type", kind: .cannotRun)
    }

    /// Combines `next` into `result` row by row with `op` (one of Kleene's AND and OR).
    @inline(__always)
    private static func combine(_ result: inout [UInt8], _ next: [UInt8], _ op: (UInt8, UInt8) -> UInt8) {
        result.withUnsafeMutableBufferPointer { x in
            next.withUnsafeBufferPointer { y in
                for r in 0..<min(x.count, y.count) { x[r] = op(x[r], y[r]) }
            }
        }
    }

    /// `value op literal` for every row: one loop per operator, so the comparison is not decided
    /// again for each row.
    private static func compare<T: Comparable>(_ chunk: DecodedChunk, _ values: UnsafeBufferPointer<T>,
                                               _ op: ComparisonOperator, _ literal: T) -> [UInt8] {
        switch op {
        case .equal: leaf(chunk) { values[$0] == literal }
        case .notEqual: leaf(chunk) { values[$0] != literal }
        case .less: leaf(chunk) { values[$0] < literal }
        case .lessOrEqual: leaf(chunk) { values[$0] <= literal }
        case .greater: leaf(chunk) { values[$0] > literal }
        case .greaterOrEqual: leaf(chunk) { values[$0] >= literal }
        }
    }

    @inline(__always)
    private static func membership(_ found: Bool, _ listHasNull: Bool, _ negated: Bool) -> UInt8 {
        if found { return negated ? 0 : 1 }
        return listHasNull ? 2 : (negated ? 1 : 0)
    }

    /// One truth a row: unknown where the row has no value, `test(valueIndex)` elsewhere.
    @inline(__always)
    private static func leaf(_ chunk: DecodedChunk, _ test: (Int) -> Bool) -> [UInt8] {
        leafTruth(chunk) { test($0) ? 1 : 0 }
    }

    @inline(__always)
    private static func leafTruth(_ chunk: DecodedChunk, _ truth: (Int) -> UInt8) -> [UInt8] {
        let rows = chunk.rowCount
        return [UInt8](unsafeUninitializedCapacity: rows) { out, n in
            if !chunk.hasMissing {
                for r in 0..<rows { out[r] = truth(r) }
            } else {
                // The bitmaps a byte (8 rows) at a time, read here rather than through a call a row;
                // a byte with no missing row is 8 values in a row.
                let nulls = chunk.nulls, absents = chunk.absents
                var v = 0
                for byte in 0..<(rows + 7) / 8 {
                    let missing = (nulls?[byte] ?? 0) | (absents?[byte] ?? 0)
                    if missing == 0 && byte * 8 + 8 <= rows {
                        for bit in 0..<8 { out[byte * 8 + bit] = truth(v + bit) }
                        v += 8
                        continue
                    }
                    for bit in 0..<min(8, rows - byte * 8) {
                        if missing & (1 << UInt8(bit)) != 0 {
                            out[byte * 8 + bit] = Truth.unknown.rawValue
                        } else {
                            out[byte * 8 + bit] = truth(v)
                            v += 1
                        }
                    }
                }
            }
            n = rows
        }
    }

    /// String predicates: once per dictionary entry when the chunk has a dictionary, else per value.
    private static func strings(_ data: BlockData, _ c: Int, _ test: (UnsafeBufferPointer<UInt8>) -> UInt8) throws -> [UInt8] {
        let chunk = try data.chunk(c)
        switch chunk.values {
        case let .dictionary(entries, codes):
            let perEntry: [UInt8] = entries.bytes.withUnsafeBufferPointer { b in
                (0..<entries.count).map { test(UnsafeBufferPointer(rebasing: b[entries.range($0)])) }
            }
            return perEntry.withUnsafeBufferPointer { truths in
                codes.withUnsafeBufferPointer { codes in leafTruth(chunk) { truths[Int(codes[$0])] } }
            }
        case let .strings(values):
            return values.bytes.withUnsafeBufferPointer { b in
                leafTruth(chunk) { test(UnsafeBufferPointer(rebasing: b[values.range($0)])) }
            }
        default:
            return try unknownOrMismatch(data, c)
        }
    }
}
