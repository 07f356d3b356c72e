import SegmentFormat
import Testing
@testable import Query

struct FieldPathTests {
    private let columns = [
        ColumnDescriptor(name: "ts", type: .timestamp),
        ColumnDescriptor(name: "a.b", type: .string),
        ColumnDescriptor(name: "attributes", type: .json),
        ColumnDescriptor(name: "body", type: .string),
        ColumnDescriptor(name: "", type: .extra),
    ]

    private func keys(_ k: String...) -> [[UInt8]] { k.map { Array($0.utf8) } }

    @Test func namesSplitAtDotsOutsideQuotes() {
        #expect(FieldPath.segments("a.b.c") == keys("a", "b", "c"))
        #expect(FieldPath.segments("attributes.\"k8s.pod\".x") == keys("attributes", "k8s.pod", "x"))
        #expect(FieldPath.segments("\"say \"\"hi\"\"\"") == keys("say \"hi\""))
        #expect(FieldPath.segments("\"\".x") == keys("", "x"))
        #expect(FieldPath.segments("a..b") == nil)
        #expect(FieldPath.segments("a.\"b") == nil)
        #expect(FieldPath.segments("a.\"b\"c") == nil)
    }

    @Test func schemaColumnsComeFirstThenJSONPathsThenTheExtraColumn() {
        #expect(FieldPath.resolve("a.b", columns: columns) == .column(1))
        #expect(FieldPath.resolve("\"a.b\"", columns: columns) == .column(1))
        #expect(FieldPath.resolve("attributes.http.status_code", columns: columns) == .path(parent: 2, keys: keys("http", "status_code")))
        #expect(FieldPath.resolve("trace_id", columns: columns) == .path(parent: 4, keys: keys("trace_id")))
        #expect(FieldPath.resolve("k8s.\"pod name\"", columns: columns) == .path(parent: 4, keys: keys("k8s", "pod name")))
        // A string column has no insides; the extra column never holds a schema field's name.
        #expect(FieldPath.resolve("body.x", columns: columns) == nil)
        #expect(FieldPath.resolve("nope", columns: Array(columns.prefix(4))) == nil)
    }

    @Test func conditionsNameQuotedKeysAfterADot() throws {
        #expect(try ExpressionParser.parse("attributes.\"k8s.pod\" = 'x'")
            == .comparison(field: "attributes.\"k8s.pod\"", op: .equal, value: .string("x")))
        #expect(try ExpressionParser.parse("\"k.8\".y.\"z z\" IS NULL") == .isNull(field: "\"k.8\".y.\"z z\"", negated: false))
        #expect(try ExpressionParser.parse("\"@timestamp\" = 1") == .comparison(field: "@timestamp", op: .equal, value: .integer(1)))
        #expect(try ExpressionParser.parse("\"a.b\" = 1") == .comparison(field: "\"a.b\"", op: .equal, value: .integer(1)))
        #expect(throws: ExpressionParser.SyntaxError.self) { try ExpressionParser.parse("a.\"b\". = 1") }
    }
}
