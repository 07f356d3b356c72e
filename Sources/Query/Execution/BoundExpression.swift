import NDJSON
import SegmentFormat

/// A `--where` condition bound to one segment's columns: field names resolved to column indexes,
/// literals converted to the column's type (RFC 3339 strings to nanoseconds for timestamps).
/// A field the segment lacks is `.missing`: every row of it is absent.
indirect enum BoundExpression: Sendable {
    case integers(column: Int, op: ComparisonOperator, value: Int64)
    /// `truth` for every row with a value, unknown for the others: an integer compared with a
    /// literal no Int64 equals (`n = 2.5`, `n < 1e30`).
    case known(column: Int, truth: Bool)
    case numbers(column: Int, op: ComparisonOperator, value: Double)
    case strings(column: Int, op: ComparisonOperator, value: [UInt8])
    case inIntegers(column: Int, values: Set<Int64>, listHasNull: Bool, negated: Bool)
    case inNumbers(column: Int, values: [Double], listHasNull: Bool, negated: Bool)
    case inStrings(column: Int, values: Set<[UInt8]>, listHasNull: Bool, negated: Bool)
    case isNull(column: Int, negated: Bool)
    case like(column: Int, pattern: LikePattern, negated: Bool)
    case and([BoundExpression])
    case or([BoundExpression])
    case not(BoundExpression)
    case constant(Truth)

    /// Binds `expression` to `columns` of the segment at `path`.
    static func bind(_ expression: Expression, columns: [ColumnDescriptor], path: String) throws -> BoundExpression {
        func column(_ field: String) -> (Int, ColumnDescriptor)? {
            guard let i = columns.firstIndex(where: { $0.name == field && $0.type != .extra }) else { return nil }
            return (i, columns[i])
        }
        func typeError(_ c: ColumnDescriptor, _ literal: Literal) -> QueryError {
            QueryError("field '\(c.name)' is \(describe(c.type)) in \(path): it cannot be compared with \(literal.kind) (\(literal))",
                       conditionField: c.name)
        }
        switch expression {
        case let .constant(b):
            return .constant(b.map { $0 ? .true : .false } ?? .unknown)
        case let .and(list):
            return .and(try list.map { try bind($0, columns: columns, path: path) })
        case let .or(list):
            return .or(try list.map { try bind($0, columns: columns, path: path) })
        case let .not(e):
            return .not(try bind(e, columns: columns, path: path))
        case let .isNull(field, negated):
            guard let (i, _) = column(field) else { return .constant(negated ? .false : .true) }
            return .isNull(column: i, negated: negated)
        case let .like(field, pattern, caseInsensitive, negated):
            guard let (i, c) = column(field) else { return .constant(.unknown) }
            guard c.type == .string else {
                throw QueryError("field '\(field)' is \(describe(c.type)) in \(path): \(caseInsensitive ? "ILIKE" : "LIKE") needs a string field",
                                 conditionField: field)
            }
            return .like(column: i, pattern: LikePattern(pattern, caseInsensitive: caseInsensitive), negated: negated)
        case let .comparison(field, op, literal):
            guard let (i, c) = column(field) else { return .constant(.unknown) }
            if literal == .null { return .constant(.unknown) }
            switch (c.type, literal) {
            case (.integer, .integer(let v)): return .integers(column: i, op: op, value: v)
            case (.integer, .number(let n)): return integerComparison(column: i, op: op, n.integerBound)
            case (.number, .integer(let v)): return .numbers(column: i, op: op, value: Double(v))
            case (.number, .number(let n)): return .numbers(column: i, op: op, value: n.double)
            case (.boolean, .boolean(let b)): return .integers(column: i, op: op, value: b ? 1 : 0)
            case (.string, .string(let s)): return .strings(column: i, op: op, value: Array(s.utf8))
            case (.timestamp, .string(let s)):
                return .integers(column: i, op: op, value: try instant(s, field: field))
            default: throw typeError(c, literal)
            }
        case let .inList(field, literals, negated):
            guard let (i, c) = column(field) else { return .constant(.unknown) }
            let hasNull = literals.contains(.null)
            let values = literals.filter { $0 != .null }
            switch c.type {
            case .integer, .boolean, .timestamp:
                var set = Set<Int64>()
                for v in values {
                    switch (c.type, v) {
                    case (.integer, .integer(let x)): set.insert(x)
                    // A value no Int64 equals (a fraction, out of range) adds nothing to the set.
                    case (.integer, .number(let n)): if case let .exact(x) = n.integerBound { set.insert(x) }
                    case (.boolean, .boolean(let b)): set.insert(b ? 1 : 0)
                    case (.timestamp, .string(let s)): set.insert(try instant(s, field: field))
                    default: throw typeError(c, v)
                    }
                }
                return .inIntegers(column: i, values: set, listHasNull: hasNull, negated: negated)
            case .number:
                let ds = try values.map { v -> Double in
                    switch v {
                    case let .integer(x): return Double(x)
                    case let .number(n): return n.double
                    default: throw typeError(c, v)
                    }
                }
                return .inNumbers(column: i, values: ds, listHasNull: hasNull, negated: negated)
            case .string:
                let ss = try values.map { v -> [UInt8] in
                    guard case let .string(s) = v else { throw typeError(c, v) }
                    return Array(s.utf8)
                }
                return .inStrings(column: i, values: Set(ss), listHasNull: hasNull, negated: negated)
            case .json, .extra:
                throw QueryError("field '\(field)' holds JSON text in \(path): only IS [NOT] NULL applies to it", conditionField: field)
            }
        }
    }

    /// `column op literal` for an integer column and a literal that is not an Int64, decided
    /// without rounding: `n < 2.5` is `n <= 2`, `n > 2.5` is `n >= 3`, `n = 2.5` holds for no row.
    static func integerComparison(column: Int, op: ComparisonOperator, _ bound: NumberLiteral.IntegerBound) -> BoundExpression {
        switch bound {
        case let .exact(v):
            return .integers(column: column, op: op, value: v)
        case .aboveAll:
            return .known(column: column, truth: op == .less || op == .lessOrEqual || op == .notEqual)
        case .belowAll:
            return .known(column: column, truth: op == .greater || op == .greaterOrEqual || op == .notEqual)
        case let .fraction(floor):
            switch op {
            case .equal: return .known(column: column, truth: false)
            case .notEqual: return .known(column: column, truth: true)
            case .less, .lessOrEqual: return .integers(column: column, op: .lessOrEqual, value: floor)
            // floor + 1 fits: a fraction above Int64.max - 1 is `.aboveAll`.
            case .greater, .greaterOrEqual: return .integers(column: column, op: .greaterOrEqual, value: floor + 1)
            }
        }
    }

    static func instant(_ text: String, field: String) throws -> Int64 {
        guard let ns = RFC3339.parse(text) else {
            throw QueryError("'\(text)' is not an RFC 3339 date-time (like 2024-05-01T12:00:00Z), and field '\(field)' is a timestamp",
                             conditionField: field)
        }
        return ns
    }

    static func describe(_ type: ColumnType) -> String {
        switch type {
        case .string: "a string"
        case .timestamp: "a timestamp"
        case .integer: "an integer"
        case .number: "a number"
        case .boolean: "a boolean"
        case .json, .extra: "JSON text"
        }
    }

    /// Columns the condition reads.
    var columns: Set<Int> {
        switch self {
        case let .integers(c, _, _), let .known(c, _), let .numbers(c, _, _), let .strings(c, _, _),
             let .inIntegers(c, _, _, _), let .inNumbers(c, _, _, _), let .inStrings(c, _, _, _), let .isNull(c, _), let .like(c, _, _):
            [c]
        case let .and(list), let .or(list): list.reduce(into: Set<Int>()) { $0.formUnion($1.columns) }
        case let .not(e): e.columns
        case .constant: []
        }
    }
}

/// SQL's three truth values, stored one byte a row.
public enum Truth: UInt8, Sendable {
    case `false` = 0
    case `true` = 1
    case unknown = 2
}
