import Testing
@testable import Query

struct ExpressionParserTests {
    @Test func precedenceIsNotThenAndThenOr() throws {
        let e = try ExpressionParser.parse("a = 1 OR NOT b = 'x' AND c IS NOT NULL")
        #expect(e == .or([.comparison(field: "a", op: .equal, value: .integer(1)),
                          .and([.not(.comparison(field: "b", op: .equal, value: .string("x"))), .isNull(field: "c", negated: true)])]))
    }

    @Test func everyOperatorAndLiteralParses() throws {
        let cases: [(String, Expression)] = [
            ("x != 1.5", .comparison(field: "x", op: .notEqual, value: .number(NumberLiteral("1.5")!))),
            ("x <> -2", .comparison(field: "x", op: .notEqual, value: .integer(-2))),
            ("x < 1e3", .comparison(field: "x", op: .less, value: .number(NumberLiteral("1e3")!))),
            ("x <= 'it''s'", .comparison(field: "x", op: .lessOrEqual, value: .string("it's"))),
            ("x > TRUE", .comparison(field: "x", op: .greater, value: .boolean(true))),
            ("x >= false", .comparison(field: "x", op: .greaterOrEqual, value: .boolean(false))),
            ("5 < x", .comparison(field: "x", op: .greater, value: .integer(5))),
            ("x = NULL", .comparison(field: "x", op: .equal, value: .null)),
            ("\"@timestamp\" = 'a'", .comparison(field: "@timestamp", op: .equal, value: .string("a"))),
            ("x IN (1, 'a', NULL)", .inList(field: "x", values: [.integer(1), .string("a"), .null], negated: false)),
            ("x NOT IN (2)", .inList(field: "x", values: [.integer(2)], negated: true)),
            ("x like 'a%'", .like(field: "x", pattern: "a%", caseInsensitive: false, negated: false)),
            ("x NOT ILIKE '%b_'", .like(field: "x", pattern: "%b_", caseInsensitive: true, negated: true)),
            ("x IS NULL", .isNull(field: "x", negated: false)),
            ("(((x = 1)))", .comparison(field: "x", op: .equal, value: .integer(1))),
            ("TRUE", .constant(true)),
        ]
        for (text, expected) in cases {
            #expect(try ExpressionParser.parse(text) == expected, "\(text)")
        }
    }

    /// A mistake is reported with its 1-based column and what was expected there.
    @Test(arguments: [
        ("dest = ", 8, "expected a value"),
        ("dest == 'x' AND", 16, "expected a field name"),
        ("dest = 'LAX", 8, "unterminated string"),
        ("(a = 1", 7, "expected ')'"),
        ("a = 1 b = 2", 7, "expected AND, OR"),
        ("a IN 1", 6, "expected '('"),
        ("a IS 5", 6, "expected NULL"),
        ("a LIKE 5", 8, "expected a 'pattern'"),
        ("a ~ 1", 3, "unexpected character"),
        ("a NOT = 1", 7, "expected IN, LIKE or ILIKE"),
        ("AND = 1", 1, "expected a field name"),
    ])
    func mistakesNameTheColumn(_ text: String, _ column: Int, _ message: String) {
        do {
            _ = try ExpressionParser.parse(text)
            Issue.record("parsed \(text)")
        } catch {
            #expect(error.column == column, "\(text): \(error)")
            #expect(error.message.contains(message), "\(text): \(error)")
        }
    }

    /// Nesting is bounded with a clear error; long AND/OR chains are flat and never recurse deeply.
    @Test func deepNestingIsRefusedAndLongChainsParse() throws {
        let deep = String(repeating: "(", count: 60_000) + "x = 1" + String(repeating: ")", count: 60_000)
        #expect(throws: ExpressionParser.SyntaxError.self) { try ExpressionParser.parse(deep) }
        do {
            _ = try ExpressionParser.parse(String(repeating: "NOT ", count: 7_000) + "x = 1")
            Issue.record("7,000 NOTs parsed")
        } catch {
            #expect(error.message.contains("nested too deeply"))
        }
        let chain = (0..<6_000).map { "x = \($0)" }.joined(separator: " OR ")
        #expect(try ExpressionParser.parse(chain).fields.count == 6_000)
    }

    /// Number literals keep their exact value against the Int64 range.
    @Test(arguments: [
        ("2.5", NumberLiteral.IntegerBound.fraction(floor: 2)),
        ("-2.5", .fraction(floor: -3)),
        ("9007199254740992.5", .fraction(floor: 9_007_199_254_740_992)),
        ("9223372036854775807.0", .exact(Int64.max)),
        ("9223372036854775807.5", .aboveAll),
        ("9223372036854775808", .aboveAll),
        ("-9223372036854775808.0", .exact(Int64.min)),
        ("-9223372036854775808.5", .belowAll),
        ("1e3", .exact(1000)),
        ("1.5e1", .exact(15)),
        ("1.55e1", .fraction(floor: 15)),
        ("123e-2", .fraction(floor: 1)),
        ("1e30", .aboveAll),
        ("-1e-30", .fraction(floor: -1)),
        ("0e99999999", .exact(0)),
        ("1e-99999999", .fraction(floor: 0)),
    ])
    func numberLiteralsKnowTheirExactIntegerBound(_ text: String, _ bound: NumberLiteral.IntegerBound) throws {
        #expect(NumberLiteral(text)?.integerBound == bound, "\(text)")
    }
}
