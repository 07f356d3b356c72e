/// A `--where` condition: SQL WHERE syntax reduced to comparisons of a field with literals,
/// combined with AND, OR and NOT. Evaluated with SQL's three-valued logic: a null or absent field
/// makes a comparison unknown, and only rows where the whole condition is true are kept.
///
/// AND and OR hold their operands as flat lists, so a chain of thousands of comparisons is one
/// node, never a deep tree; nesting (parentheses, NOT) is bounded by the parser.
public indirect enum Expression: Sendable, Equatable {
    case comparison(field: String, op: ComparisonOperator, value: Literal)
    case inList(field: String, values: [Literal], negated: Bool)
    case isNull(field: String, negated: Bool)
    case like(field: String, pattern: String, caseInsensitive: Bool, negated: Bool)
    case and([Expression])
    case or([Expression])
    case not(Expression)
    /// TRUE, FALSE or NULL used as a condition.
    case constant(Bool?)

    /// Every field the condition reads, in order of mention (with repeats).
    public var fields: [String] {
        var out: [String] = []
        collectFields(into: &out)
        return out
    }

    private func collectFields(into out: inout [String]) {
        switch self {
        case let .comparison(f, _, _), let .inList(f, _, _), let .isNull(f, _), let .like(f, _, _, _): out.append(f)
        case let .and(list), let .or(list): for e in list { e.collectFields(into: &out) }
        case let .not(e): e.collectFields(into: &out)
        case .constant: break
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
    /// A number with a fraction or an exponent, or an integer outside Int64.
    case number(NumberLiteral)
    case boolean(Bool)
    case null

    public var description: String {
        switch self {
        case let .string(s): "'\(s)'"
        case let .integer(i): String(i)
        case let .number(n): n.text
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

/// A number literal that is not an Int64, kept exactly as written: compared with a number column
/// as the nearest Double (as DuckDB does), and with an integer column exactly, through `integerBound`,
/// so `n = 9007199254740992.5` holds for no integer and `n < 9223372036854775808` for every one.
public struct NumberLiteral: Sendable, Equatable {
    public let text: String
    /// The nearest Double (finite: the lexer refuses literals beyond ±Double.greatestFiniteMagnitude).
    public let double: Double
    /// Where the exact value lies against the Int64 range.
    public let integerBound: IntegerBound

    /// The exact value of a literal against the integers an Int64 holds.
    public enum IntegerBound: Sendable, Equatable {
        /// The value is this integer.
        case exact(Int64)
        /// The value lies strictly between `floor` and `floor + 1`.
        case fraction(floor: Int64)
        /// Greater than Int64.max (or equal to Int64.max plus a fraction).
        case aboveAll
        /// Less than Int64.min.
        case belowAll
    }

    /// Parses decimal text (`-12.5`, `1e3`, `9223372036854775808`); nil when it is not a finite number.
    public init?(_ text: String) {
        guard let d = Double(text), d.isFinite, let bound = Self.bound(text) else { return nil }
        self.text = text
        double = d
        integerBound = bound
    }

    /// Exact decimal arithmetic on the digits: the integer part and whether a fraction remains.
    private static func bound(_ text: String) -> IntegerBound? {
        var chars = Substring(text)
        var negative = false
        if chars.first == "-" || chars.first == "+" {
            negative = chars.first == "-"
            chars = chars.dropFirst()
        }
        var exponent = 0
        if let e = chars.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            var body = chars[chars.index(after: e)...]
            var sign = 1
            if body.first == "-" || body.first == "+" {
                sign = body.first == "-" ? -1 : 1
                body = body.dropFirst()
            }
            let significant = body.drop { $0 == "0" }
            // Past ±100,000 the answer no longer depends on the exponent's size: clamp it.
            exponent = significant.count > 6 ? sign * 100_000 : sign * (Int(significant) ?? 0)
            chars = chars[..<e]
        }
        var digits: [UInt8] = []
        var point: Int?
        for c in chars.utf8 {
            if c == UInt8(ascii: ".") {
                guard point == nil else { return nil }
                point = digits.count
            } else if c >= 0x30 && c <= 0x39 {
                digits.append(c - 0x30)
            } else {
                return nil
            }
        }
        guard !digits.isEmpty else { return nil }
        // The value is digits × 10^(exponent - fraction digits); `split` is where the integer part ends.
        let split = (point ?? digits.count) + exponent
        var magnitude: UInt64 = 0
        var overflow = false
        for i in 0..<max(split, 0) {
            let d = i < digits.count ? UInt64(digits[i]) : 0
            let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(d)
            if o1 || o2 { overflow = true; break }
            magnitude = m2
        }
        let hasFraction = split < digits.count && digits[max(split, 0)...].contains { $0 != 0 }
        if overflow || magnitude > UInt64(Int64.max) + 1 {
            return negative ? .belowAll : .aboveAll
        }
        if !negative {
            if magnitude > UInt64(Int64.max) { return .aboveAll }
            let v = Int64(magnitude)
            if !hasFraction { return .exact(v) }
            return v == Int64.max ? .aboveAll : .fraction(floor: v)
        }
        // Negative: -magnitude, minus a fraction when there is one.
        if magnitude == UInt64(Int64.max) + 1 { return hasFraction ? .belowAll : .exact(Int64.min) }
        let v = -Int64(magnitude)
        if !hasFraction { return .exact(v) }
        return v == Int64.min ? .belowAll : .fraction(floor: v - 1)
    }
}
