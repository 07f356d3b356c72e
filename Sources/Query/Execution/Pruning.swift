import SegmentFormat

/// Decides from footer facts alone (min/max, null and absent counts) whether a block can hold a
/// row that satisfies a condition, so blocks that cannot are never read or decompressed.
/// Conservative: "maybe" whenever the stats cannot tell.
enum Pruning {
    static func mayMatch(_ e: BoundExpression, _ block: BlockMeta) -> Bool {
        switch e {
        case let .constant(t): return t == .true
        case let .and(list): return list.allSatisfy { mayMatch($0, block) }
        case let .or(list): return list.contains { mayMatch($0, block) }
        case .not: return true
        case let .isNull(c, negated):
            let chunk = block.chunks[c]
            let missing = chunk.nullCount + chunk.absentCount
            return negated ? missing < block.rowCount : missing > 0
        case let .integers(c, op, v):
            guard hasValues(block, c) else { return false }
            guard case let .integer(lo, hi) = block.chunks[c].stats else { return true }
            return rangeMayHold(op, lo: lo, hi: hi, v)
        case let .known(c, truth):
            return truth && hasValues(block, c)
        case let .numbers(c, op, d):
            guard hasValues(block, c) else { return false }
            guard case let .number(lo, hi) = block.chunks[c].stats else { return true }
            return rangeMayHold(op, lo: lo, hi: hi, d)
        case let .strings(c, op, v):
            guard hasValues(block, c) else { return false }
            guard case let .bytes(lo, hi, truncated) = block.chunks[c].stats else { return true }
            return stringRangeMayHold(op, lo: lo, hi: hi, truncated: truncated, v)
        case let .inIntegers(c, values, _, negated):
            guard hasValues(block, c) else { return false }
            guard !negated, case let .integer(lo, hi) = block.chunks[c].stats else { return true }
            return values.contains { $0 >= lo && $0 <= hi }
        case let .inNumbers(c, values, _, negated):
            guard hasValues(block, c) else { return false }
            guard !negated, case let .number(lo, hi) = block.chunks[c].stats else { return true }
            return values.contains { $0 >= lo && $0 <= hi }
        case let .inStrings(c, values, _, negated):
            guard hasValues(block, c) else { return false }
            guard !negated, case let .bytes(lo, hi, truncated) = block.chunks[c].stats else { return true }
            return values.contains { stringRangeMayHold(.equal, lo: lo, hi: hi, truncated: truncated, $0) }
        case let .like(c, pattern, negated):
            guard hasValues(block, c) else { return false }
            guard !negated, let prefix = pattern.requiredPrefix, !prefix.isEmpty,
                  case let .bytes(lo, hi, truncated) = block.chunks[c].stats else { return true }
            // Every match is at least the prefix and sorts among the strings starting with it.
            let hiPrefix = Array(hi.prefix(prefix.count))
            let loPrefix = Array(lo.prefix(prefix.count))
            let aboveMin = ByteCompare.compare(hiPrefix, prefix) >= 0 || truncated && hi.count < prefix.count
            return aboveMin && ByteCompare.compare(loPrefix, prefix) <= 0
        }
    }

    /// Whether the time range `[since, until)` can hold a row of a block with `range`.
    static func mayMatch(time range: ClosedRange<Int64>?, since: Int64?, until: Int64?) -> Bool {
        guard let range else { return since == nil && until == nil }
        if let since, range.upperBound < since { return false }
        if let until, range.lowerBound >= until { return false }
        return true
    }

    /// Whether every row of a block with `range` is inside `[since, until)`.
    static func contains(time range: ClosedRange<Int64>?, since: Int64?, until: Int64?) -> Bool {
        guard let range else { return since == nil && until == nil }
        return (since.map { range.lowerBound >= $0 } ?? true) && (until.map { range.upperBound < $0 } ?? true)
    }

    private static func hasValues(_ block: BlockMeta, _ c: Int) -> Bool {
        block.chunks[c].nullCount + block.chunks[c].absentCount < block.rowCount
    }

    private static func rangeMayHold<T: Comparable>(_ op: ComparisonOperator, lo: T, hi: T, _ v: T) -> Bool {
        switch op {
        case .equal: lo <= v && v <= hi
        case .notEqual: !(lo == v && hi == v)
        case .less: lo < v
        case .lessOrEqual: lo <= v
        case .greater: hi > v
        case .greaterOrEqual: hi >= v
        }
    }

    /// As `rangeMayHold`, where a truncated max stands for any string that starts with it.
    private static func stringRangeMayHold(_ op: ComparisonOperator, lo: [UInt8], hi: [UInt8], truncated: Bool, _ v: [UInt8]) -> Bool {
        let vsLo = ByteCompare.compare(v, lo)
        let vsHi = truncated ? ByteCompare.compare(Array(v.prefix(hi.count)), hi) : ByteCompare.compare(v, hi)
        switch op {
        case .equal: return vsLo >= 0 && vsHi <= 0
        case .notEqual: return !(vsLo == 0 && vsHi == 0 && !truncated && lo == hi)
        case .less: return vsLo > 0
        case .lessOrEqual: return vsLo >= 0
        case .greater: return vsHi < 0 || truncated && vsHi == 0
        case .greaterOrEqual: return vsHi <= 0
        }
    }
}
