/// A `--where` condition: SQL WHERE syntax reduced to comparisons of a field with literals,
/// combined with AND, OR and NOT. Evaluated with SQL's three-valued logic: a null or absent field
/// makes a comparison unknown, and only rows where the whole condition is true are kept.
public indirect enum Expression: Sendable, Equatable {
    case comparison(field: String, op: ComparisonOperator, value: Literal)
    case inList(field: String, values: [Literal], negated: Bool)
    case isNull(field: String, negated: Bool)
    case like(field: String, pattern: String, caseInsensitive: Bool, negated: Bool)
    case and(Expression, Expression)
    case or(Expression, Expression)
    case not(Expression)
    /// TRUE, FALSE or NULL used as a condition.
    case constant(Bool?)

    /// Every field the condition reads.
    public var fields: [String] {
        switch self {
        case let .comparison(f, _, _), let .inList(f, _, _), let .isNull(f, _), let .like(f, _, _, _): [f]
        case let .and(a, b), let .or(a, b): a.fields + b.fields
        case let .not(e): e.fields
        case .constant: []
        }
    }
}

/// A comparison operator; `flipped` is the operator with its operands swapped (`5 < x` is `x > 5`).
public enum ComparisonOperator: String, Sendable, Equatable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="

    public var flipped: ComparisonOperator {
        switch self {
        case .equal, .notEqual: self
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        }
    }

    /// Whether `order` (the sign of left minus right) satisfies the operator.
    @inline(__always)
    public func holds(_ order: Int) -> Bool {
        switch self {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        case .greaterOrEqual: order >= 0
        }
    }
}

/// A literal in a condition.
public enum Literal: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case number(Double)
    case boolean(Bool)
    case null

    public var description: String {
        switch self {
        case let .string(s): "'\(s)'"
        case let .integer(i): String(i)
        case let .number(d): String(d)
        case let .boolean(b): b ? "TRUE" : "FALSE"
        case .null: "NULL"
        }
    }

    var kind: String {
        switch self {
        case .string: "a string"
        case .integer, .number: "a number"
        case .boolean: "a boolean"
        case .null: "NULL"
        }
    }
}
