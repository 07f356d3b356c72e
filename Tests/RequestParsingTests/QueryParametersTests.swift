import RequestParsing
import Testing

@Suite struct QueryParametersTests {
    @Test func pairsAreDecoded() throws {
        let query = try QueryParameters(parsing: "n=10&name=a%20b+c&flag&n=2")
        #expect(query.first("n") == "10")
        #expect(query.first("name") == "a b c")
        #expect(query.first("flag") == "")
        #expect(query.first("missing") == nil)
    }

    @Test func badEscapesAndInvalidUTF8AreRefusedWithTheParameter() {
        #expect(throws: QueryParameters.ParseError.badEscape(parameter: 2)) { try QueryParameters(parsing: "a=1&b=%4") }
        #expect(throws: QueryParameters.ParseError.badEscape(parameter: 1)) { try QueryParameters(parsing: "a=%zz") }
        #expect(throws: QueryParameters.ParseError.notUTF8(parameter: 1)) { try QueryParameters(parsing: "a=%ff") }
    }

    @Test func tooManyParametersAreRefused() {
        let query = Array(repeating: "a=1", count: QueryParameters.maxParameters + 1).joined(separator: "&")
        #expect(throws: QueryParameters.ParseError.tooMany) { try QueryParameters(parsing: query) }
    }

    @Test func integersAreDigitsWithinTheirRange() {
        #expect(QueryParameters.integer("10", in: 1...100) == 10)
        for text in ["", "0", "101", "-1", "1e2", " 5", "99999999999999999999"] {
            #expect(QueryParameters.integer(text, in: 1...100) == nil, "\(text)")
        }
    }
}
