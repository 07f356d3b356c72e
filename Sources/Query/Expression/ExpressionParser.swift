import SegmentFormat

/// Parses `--where` text (SQL WHERE syntax) into an `Expression`.
///
/// Grammar, loosest first: `or := and (OR and)*`, `and := not (AND not)*`, `not := NOT not | primary`,
/// `primary := ( or ) | TRUE | FALSE | NULL | field op literal | literal op field | field [NOT] IN (literals)
/// | field IS [NOT] NULL | field [NOT] LIKE|ILIKE 'pattern'`. Fields are bare names (letters, digits,
/// `_`, `@`, `.`, `-` after the first) or "double quoted"; strings are 'single quoted' with '' for a quote.
///
/// AND and OR chains become flat lists, so their length costs no stack; parentheses and NOT nest
/// at most `QueryLimits.maxNesting` deep, so neither parsing nor evaluation can exhaust the stack.
public struct ExpressionParser {
    private var tokens: [Token] = []
    private var index = 0
    private let text: String
    private var depth = 0

    /// A mistake in the expression: the 1-based column where it is and what was expected there.
    public struct SyntaxError: Error, CustomStringConvertible, Sendable, Equatable {
        public let column: Int
        public let message: String
        public var description: String { "--where, column \(column): \(message)" }

        public init(column: Int, message: String) {
            self.column = column
            self.message = message
        }
    }

    public static func parse(_ text: String) throws(SyntaxError) -> Expression {
        var p = ExpressionParser(text: text)
        p.tokens = try Lexer.tokens(text)
        let e = try p.orExpression()
        guard case .end = p.peek.kind else { throw p.error("expected AND, OR or the end of the expression, got \(p.peek.text)") }
        return e
    }

    private init(text: String) { self.text = text }

    /// The 1-based column where `field` is first named in `text` (a condition that parses), to
    /// point at it in an error found later, when the condition meets the segments.
    public static func column(ofField field: String, in text: String) -> Int? {
        guard let tokens = try? Lexer.tokens(text) else { return nil }
        for t in tokens {
            switch t.kind {
            case let .word(w) where w == field: return t.column
            case let .quotedName(n) where n == field: return t.column
            default: continue
            }
        }
        return nil
    }

    private var peek: Token { tokens[index] }

    private func error(_ message: String) -> SyntaxError { SyntaxError(column: peek.column, message: message) }

    private mutating func advance() -> Token {
        let t = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    private mutating func keyword(_ word: String) -> Bool {
        guard case let .word(w) = peek.kind, w.uppercased() == word else { return false }
        index += 1
        return true
    }

    private mutating func orExpression() throws(SyntaxError) -> Expression {
        var list = [try andExpression()]
        while keyword("OR") { list.append(try andExpression()) }
        return list.count == 1 ? list[0] : .or(list)
    }

    private mutating func andExpression() throws(SyntaxError) -> Expression {
        var list = [try notExpression()]
        while keyword("AND") { list.append(try notExpression()) }
        return list.count == 1 ? list[0] : .and(list)
    }

    private mutating func notExpression() throws(SyntaxError) -> Expression {
        guard keyword("NOT") else { return try primary() }
        try enter()
        defer { depth -= 1 }
        return .not(try notExpression())
    }

    /// One level deeper (a parenthesis or a NOT); refused past `QueryLimits.maxNesting`.
    private mutating func enter() throws(SyntaxError) {
        depth += 1
        if depth > QueryLimits.maxNesting {
            throw error("the condition is nested too deeply (more than \(QueryLimits.maxNesting) parentheses and NOTs)")
        }
    }

    private static let reserved: Set<String> = ["AND", "OR", "NOT", "IN", "IS", "LIKE", "ILIKE", "NULL", "TRUE", "FALSE"]

    private mutating func primary() throws(SyntaxError) -> Expression {
        if case .leftParen = peek.kind {
            try enter()
            defer { depth -= 1 }
            _ = advance()
            let e = try orExpression()
            guard case .rightParen = peek.kind else { throw error("expected ')', got \(peek.text)") }
            _ = advance()
            return e
        }
        // A literal first: `5 < x`, or a constant condition.
        if let literal = try literalIfPresent() {
            if case let .op(op) = peek.kind {
                _ = advance()
                let field = try fieldName("a field after '\(op.rawValue)'")
                return .comparison(field: field, op: op.flipped, value: literal)
            }
            switch literal {
            case let .boolean(b): return .constant(b)
            case .null: return .constant(nil)
            default: throw error("expected a comparison operator after \(literal), got \(peek.text)")
            }
        }
        let field = try fieldName("a field name, '(' or NOT")
        let negated = keyword("NOT")
        if keyword("IN") { return try inList(field, negated: negated) }
        if keyword("LIKE") { return try like(field, caseInsensitive: false, negated: negated) }
        if keyword("ILIKE") { return try like(field, caseInsensitive: true, negated: negated) }
        if negated { throw error("expected IN, LIKE or ILIKE after NOT, got \(peek.text)") }
        if keyword("IS") {
            let not = keyword("NOT")
            guard keyword("NULL") else { throw error("expected NULL after IS\(not ? " NOT" : ""), got \(peek.text)") }
            return .isNull(field: field, negated: not)
        }
        guard case let .op(op) = peek.kind else {
            throw error("expected an operator (= != <> < <= > >=, IN, IS, LIKE, ILIKE) after '\(field)', got \(peek.text)")
        }
        _ = advance()
        guard let value = try literalIfPresent() else {
            throw error("expected a value (a 'string', a number, TRUE, FALSE or NULL) after '\(op.rawValue)', got \(peek.text)")
        }
        return .comparison(field: field, op: op, value: value)
    }

    private mutating func fieldName(_ expected: String) throws(SyntaxError) -> String {
        switch peek.kind {
        case let .quotedName(name):
            _ = advance()
            return name
        case let .word(w) where !Self.reserved.contains(w.uppercased()):
            _ = advance()
            return w
        default:
            throw error("expected \(expected), got \(peek.text)")
        }
    }

    private mutating func literalIfPresent() throws(SyntaxError) -> Literal? {
        switch peek.kind {
        case let .string(s): _ = advance(); return .string(s)
        case let .integer(i): _ = advance(); return .integer(i)
        case let .number(d): _ = advance(); return .number(d)
        case let .word(w):
            switch w.uppercased() {
            case "TRUE": _ = advance(); return .boolean(true)
            case "FALSE": _ = advance(); return .boolean(false)
            case "NULL": _ = advance(); return .null
            default: return nil
            }
        default: return nil
        }
    }

    private mutating func inList(_ field: String, negated: Bool) throws(SyntaxError) -> Expression {
        guard case .leftParen = peek.kind else { throw error("expected '(' after IN, got \(peek.text)") }
        _ = advance()
        var values: [Literal] = []
        while true {
            guard let v = try literalIfPresent() else { throw error("expected a value in the IN list, got \(peek.text)") }
            values.append(v)
            if case .comma = peek.kind {
                _ = advance()
                continue
            }
            guard case .rightParen = peek.kind else { throw error("expected ',' or ')' in the IN list, got \(peek.text)") }
            _ = advance()
            return .inList(field: field, values: values, negated: negated)
        }
    }

    private mutating func like(_ field: String, caseInsensitive: Bool, negated: Bool) throws(SyntaxError) -> Expression {
        guard case let .string(pattern) = peek.kind else {
            throw error("expected a 'pattern' after \(caseInsensitive ? "ILIKE" : "LIKE"), got \(peek.text)")
        }
        _ = advance()
        return .like(field: field, pattern: pattern, caseInsensitive: caseInsensitive, negated: negated)
    }
}

/// One token of a `--where` expression, with its 1-based column.
struct Token {
    enum Kind {
        case word(String)
        case quotedName(String)
        case string(String)
        case integer(Int64)
        case number(NumberLiteral)
        case op(ComparisonOperator)
        case leftParen, rightParen, comma, end
    }

    let kind: Kind
    let column: Int
    let text: String
}

/// Splits a `--where` expression into tokens.
enum Lexer {
    static func tokens(_ text: String) throws(ExpressionParser.SyntaxError) -> [Token] {
        let chars = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        func fail(_ message: String) -> ExpressionParser.SyntaxError { .init(column: i + 1, message: message) }
        /// The rest of a dotted path after its first keys (at a '.'): bare or "quoted" keys, as one
        /// field name with the keys that need it quoted (spec: Comparing a path across blocks).
        func path(_ first: [String]) throws(ExpressionParser.SyntaxError) -> String {
            if first.contains(where: \.isEmpty) { throw fail("a field name has an empty key: quote it (\"\")") }
            var keys = first
            while i < chars.count && chars[i] == "." {
                i += 1
                var key = String.UnicodeScalarView()
                if i < chars.count && chars[i] == "\"" {
                    i += 1
                    while true {
                        guard i < chars.count else { throw fail("unterminated quoted field name: add a closing \"") }
                        if chars[i] == "\"" {
                            if i + 1 < chars.count && chars[i + 1] == "\"" {
                                key.append("\"")
                                i += 2
                                continue
                            }
                            i += 1
                            break
                        }
                        key.append(chars[i])
                        i += 1
                    }
                } else {
                    while i < chars.count, isWordPart(chars[i]), chars[i] != "." { key.append(chars[i]); i += 1 }
                    if key.isEmpty { throw fail("expected a key after '.' in a field name") }
                }
                keys.append(String(key))
            }
            return keys.map(ShreddedColumn.quoted).joined(separator: ".")
        }
        while i < chars.count {
            let c = chars[i]
            let start = i
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                i += 1
                continue
            }
            func add(_ kind: Token.Kind) {
                tokens.append(Token(kind: kind, column: start + 1, text: "'" + String(String.UnicodeScalarView(chars[start..<i])) + "'"))
            }
            switch c {
            case "(": i += 1; add(.leftParen)
            case ")": i += 1; add(.rightParen)
            case ",": i += 1; add(.comma)
            case "=": i += 1; if i < chars.count && chars[i] == "=" { i += 1 }; add(.op(.equal))
            case "!":
                guard i + 1 < chars.count, chars[i + 1] == "=" else { throw fail("expected '!=' ") }
                i += 2; add(.op(.notEqual))
            case "<":
                i += 1
                if i < chars.count && chars[i] == "=" { i += 1; add(.op(.lessOrEqual)) }
                else if i < chars.count && chars[i] == ">" { i += 1; add(.op(.notEqual)) }
                else { add(.op(.less)) }
            case ">":
                i += 1
                if i < chars.count && chars[i] == "=" { i += 1; add(.op(.greaterOrEqual)) } else { add(.op(.greater)) }
            case "'", "\"":
                i += 1
                var value = String.UnicodeScalarView()
                while true {
                    guard i < chars.count else {
                        i = start
                        throw fail(c == "'" ? "unterminated string: add a closing '" : "unterminated quoted field name: add a closing \"")
                    }
                    if chars[i] == c {
                        if i + 1 < chars.count && chars[i + 1] == c {
                            value.append(c)
                            i += 2
                            continue
                        }
                        i += 1
                        break
                    }
                    value.append(chars[i])
                    i += 1
                }
                if c == "'" {
                    add(.string(String(value)))
                } else if i < chars.count && chars[i] == "." {
                    add(.quotedName(try path([String(value)])))
                } else {
                    // A quoted name alone is one name, dots and all (a path of one key when it has some).
                    let name = String(value)
                    add(.quotedName(name.contains(".") || name.contains("\"") ? ShreddedColumn.quoted(name) : name))
                }
            case "0"..."9", "-", "+", ".":
                while i < chars.count, "0123456789.eE+-".unicodeScalars.contains(chars[i]) {
                    if (chars[i] == "+" || chars[i] == "-") && i > start && chars[i - 1] != "e" && chars[i - 1] != "E" { break }
                    i += 1
                }
                let literal = String(String.UnicodeScalarView(chars[start..<i]))
                if let v = Int64(literal) {
                    add(.integer(v))
                } else if let n = NumberLiteral(literal) {
                    add(.number(n))
                } else {
                    i = start
                    throw fail("'\(literal)' is not a number")
                }
            default:
                guard isWordStart(c) else { throw fail("unexpected character '\(c)'") }
                while i < chars.count, isWordPart(chars[i]) { i += 1 }
                let word = String(String.UnicodeScalarView(chars[start..<i]))
                if word.hasSuffix("."), i < chars.count, chars[i] == "\"" {
                    // A dotted path with a quoted key next: `attributes."k8s.pod"`.
                    i -= 1
                    add(.quotedName(try path(word.dropLast().split(separator: ".", omittingEmptySubsequences: false).map(String.init))))
                } else {
                    add(.word(word))
                }
            }
        }
        tokens.append(Token(kind: .end, column: chars.count + 1, text: "the end of the expression"))
        return tokens
    }

    static func isWordStart(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c == "_" || c == "@" }
    static func isWordPart(_ c: Unicode.Scalar) -> Bool { isWordStart(c) || ("0"..."9").contains(c) || c == "." }
}
