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
            if c == "," && depth == 0 {
                specs.append(try parse(current))
                current = ""
            } else {
                current.append(c)
            }
        }
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
        var function: Function
        switch name {
        case "count": function = .count
        case "sum": function = .sum
        case "avg": function = .avg
        case "min": function = .min
        case "max": function = .max
        default: throw QueryError("--agg: unknown aggregate '\(name)' in '\(text)'; use count, sum, avg, min or max")
        }
        if function == .count, argument.lowercased().hasPrefix("distinct ") {
            function = .countDistinct
            argument = String(argument.dropFirst("distinct ".count)).trimmingCharacters(in: .whitespaces)
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
/// depend on thread timing.
struct Accumulator: Sendable {
    let function: AggregateSpec.Function
    var count = 0
    var integerSum: Int64 = 0
    var integerSumOverflowed = false
    var doubleSum = 0.0
    var sawNumber = false
    var extreme: Value = .null
    var distinct: Set<Value> = []

    init(_ function: AggregateSpec.Function) { self.function = function }

    /// Adds one row's value (`.null` for null or absent, which every aggregate but count(*) skips).
    mutating func add(_ v: Value) {
        if case .null = v { return }
        count += 1
        switch function {
        case .count: break
        case .countDistinct: distinct.insert(v)
        case .sum, .avg:
            switch v {
            case let .integer(x):
                let (s, o) = integerSum.addingReportingOverflow(x)
                integerSum = s
                if o { integerSumOverflowed = true }
                doubleSum += Double(x)
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
        let (s, o) = integerSum.addingReportingOverflow(other.integerSum)
        integerSum = s
        integerSumOverflowed = integerSumOverflowed || other.integerSumOverflowed || o
        doubleSum += other.doubleSum
        sawNumber = sawNumber || other.sawNumber
        distinct.formUnion(other.distinct)
        if case .null = other.extreme { return }
        if case .null = extreme { extreme = other.extreme; return }
        if function == .min && other.extreme < extreme { extreme = other.extreme }
        if function == .max && extreme < other.extreme { extreme = other.extreme }
    }

    var result: Value {
        switch function {
        case .count: return .integer(Int64(count))
        case .countDistinct: return .integer(Int64(distinct.count))
        case .sum:
            guard count > 0 else { return .null }
            return sawNumber || integerSumOverflowed ? .number(doubleSum) : .integer(integerSum)
        case .avg:
            guard count > 0 else { return .null }
            // Integer sums are exact, so the mean is the correctly rounded quotient.
            return .number(sawNumber || integerSumOverflowed ? doubleSum / Double(count) : Double(integerSum) / Double(count))
        case .min, .max: return extreme
        }
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
            if var mine = groups[key] {
                for i in mine.indices { mine[i].merge(theirs[i]) }
                groups[key] = mine
            } else {
                groups[key] = theirs
                order.append(key)
            }
        }
    }
}
