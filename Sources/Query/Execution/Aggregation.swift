import Foundation
import SegmentFormat

/// One aggregate of `--agg`: its function, its field (nil for `count(*)`), and its text as
/// written, which heads its output column.
public struct AggregateSpec: Sendable, Equatable {
    public enum Function: String, Sendable {
        case count, countDistinct = "count(distinct)", sum, avg, min, max
    }

    public let function: Function
    public let field: String?
    public let text: String

    /// Parses `count(*),sum(x),avg(x),min(x),max(x),count(x),count(distinct x)`.
    public static func parseList(_ text: String) throws -> [AggregateSpec] {
        var specs: [AggregateSpec] = []
        var depth = 0
        var current = ""
        for c in text {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            if depth < 0 { throw QueryError("--agg: unbalanced parentheses in '\(text)': a ')' closes nothing") }
            if c == "," && depth == 0 {
                specs.append(try parse(current))
                current = ""
            } else {
                current.append(c)
            }
        }
        if depth != 0 { throw QueryError("--agg: unbalanced parentheses in '\(text)': a '(' is not closed") }
        specs.append(try parse(current))
        return specs
    }

    static func parse(_ raw: String) throws -> AggregateSpec {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard let open = text.firstIndex(of: "("), text.hasSuffix(")") else {
            throw QueryError("--agg: '\(text)' is not an aggregate; use count(*), count(x), count(distinct x), sum(x), avg(x), min(x) or max(x)")
        }
        let name = text[..<open].trimmingCharacters(in: .whitespaces).lowercased()
        var argument = text[text.index(after: open)..<text.index(before: text.endIndex)].trimmingCharacters(in: .whitespaces)
        if argument.contains(where: { $0 == "(" || $0 == ")" }) {
            throw QueryError("--agg: unbalanced parentheses in '\(text)': an aggregate takes one field, like sum(x)")
        }
        var function: Function
        switch name {
        case "count": function = .count
        case "sum": function = .sum
        case "avg": function = .avg
        case "min": function = .min
        case "max": function = .max
        default: throw QueryError("--agg: unknown aggregate '\(name)' in '\(text)'; use count, sum, avg, min or max")
        }
        let words = argument.split(separator: " ", maxSplits: 1)
        if function == .count, words.first?.lowercased() == "distinct" {
            function = .countDistinct
            argument = words.count > 1 ? words[1].trimmingCharacters(in: .whitespaces) : ""
            guard !argument.isEmpty, argument != "*" else {
                throw QueryError("--agg: count(distinct x) needs a field, in '\(text)'")
            }
        }
        if argument.hasPrefix("\""), argument.hasSuffix("\""), argument.count >= 2 { argument = String(argument.dropFirst().dropLast()) }
        guard !argument.isEmpty else { throw QueryError("--agg: '\(text)' needs a field, or * for count(*)") }
        if argument == "*" {
            guard function == .count else { throw QueryError("--agg: only count takes *, in '\(text)'") }
            return AggregateSpec(function: .count, field: nil, text: text)
        }
        return AggregateSpec(function: function, field: argument, text: text)
    }
}

/// The running state of one aggregate for one group. Merged in block order, so results do not
/// depend on thread timing. Integer sums run in 128 bits, as DuckDB's HUGEINT does, so no running
/// sum of Int64s can overflow (2^64 rows of Int64.max still fit); only a result that does not fit
/// an Int64 is refused.
struct Accumulator: Sendable {
    let function: AggregateSpec.Function
    var count = 0
    var integerSum: Int128 = 0
    var doubleSum = 0.0
    var sawNumber = false
    var extreme: Value = .null
    /// count(distinct): strings here, other values in `distinct`.
    var distinct: Set<Value> = []
    var distinctStrings = DistinctStrings()

    init(_ function: AggregateSpec.Function) { self.function = function }

    /// Adds one row's value (`.null` for null or absent, which every aggregate but count(*) skips).
    mutating func add(_ v: Value) {
        if case .null = v { return }
        count += 1
        switch function {
        case .count: break
        case .countDistinct:
            if case let .string(bytes) = v {
                bytes.withUnsafeBufferPointer { distinctStrings.insert($0) }
            } else {
                distinct.insert(v)
            }
        case .sum, .avg:
            switch v {
            case let .integer(x): integerSum += Int128(x)
            case let .number(x):
                sawNumber = true
                doubleSum += x
            default: break
            }
        case .min: if case .null = extreme { extreme = v } else if v < extreme { extreme = v }
        case .max: if case .null = extreme { extreme = v } else if extreme < v { extreme = v }
        }
    }

    /// count(*): one more row.
    mutating func addRow() { count += 1 }

    mutating func merge(_ other: Accumulator) {
        count += other.count
        integerSum += other.integerSum
        doubleSum += other.doubleSum
        sawNumber = sawNumber || other.sawNumber
        distinct.formUnion(other.distinct)
        distinctStrings.formUnion(other.distinctStrings)
        if case .null = other.extreme { return }
        if case .null = extreme { extreme = other.extreme; return }
        if function == .min && other.extreme < extreme { extreme = other.extreme }
        if function == .max && extreme < other.extreme { extreme = other.extreme }
    }

    /// The aggregate's value; throws `QueryError` for an integer sum that does not fit an Int64.
    func result(_ spec: AggregateSpec) throws -> Value {
        switch function {
        case .count: return .integer(Int64(count))
        case .countDistinct: return .integer(Int64(distinct.count + distinctStrings.count))
        case .sum:
            guard count > 0 else { return .null }
            if sawNumber { return .number(doubleSum) }
            guard let sum = Int64(exactly: integerSum) else {
                throw QueryError("\(spec.text) is \(integerSum), which does not fit a 64-bit integer", kind: .cannotRun)
            }
            return .integer(sum)
        case .avg:
            guard count > 0 else { return .null }
            if sawNumber { return .number(doubleSum / Double(count)) }
            return .number(Self.quotient(integerSum, count))
        case .min, .max: return extreme
        }
    }

    /// `sum / count` as a Double: correctly rounded while the sum is exact in a Double (|sum| ≤ 2^53),
    /// else the integer quotient plus the remainder's share (off by at most an ulp).
    static func quotient(_ sum: Int128, _ count: Int) -> Double {
        let n = Int128(count)
        if sum.magnitude <= 1 << 53 { return Double(sum) / Double(count) }
        let (q, r) = sum.quotientAndRemainder(dividingBy: n)
        return Double(q) + Double(r) / Double(count)
    }
}

/// Groups and their accumulators for a block (or, merged, for the whole query).
struct GroupTable: Sendable {
    var groups: [[Value]: [Accumulator]] = [:]
    /// Keys in first-seen order, so merging is deterministic.
    var order: [[Value]] = []

    mutating func merge(_ other: GroupTable) {
        for key in other.order {
            guard let theirs = other.groups[key] else { continue }
            if let index = groups.index(forKey: key) {
                // In place: a copy of the accumulators out of the table and back would copy every
                // count(distinct) set whole at each merge (copy on write).
                for i in theirs.indices { groups.values[index][i].merge(theirs[i]) }
            } else {
                groups[key] = theirs
                order.append(key)
            }
        }
    }
}
