import Testing
import SegmentFormat
@testable import NDJSON

struct SchemaInferenceTests {
    static func infer(_ ndjson: String) throws -> (StreamSchema, SchemaInference) {
        var inference = SchemaInference()
        try Array(ndjson.utf8).withUnsafeBytes { try inference.add($0) }
        let text = inference.schema(name: "inferred")
        return (try StreamSchema(json: Array(text.utf8)), inference)
    }

    @Test func typesAreWidenedAcrossRecords() throws {
        let (schema, inference) = try Self.infer("""
        {"time":"2024-05-01T12:00:00Z","at":"2024-05-01T12:00:00Z","n":1,"x":1,"s":"a","b":true,"o":{},"a":[],"maybe":1,"mixed":1,"nul":null}
        {"time":"2024-05-01T12:00:01Z","at":"not a time","n":2,"x":2.5,"s":"2024-05-01T12:00:00Z","b":false,"o":{"k":1},"a":[1],"maybe":null,"mixed":"one","nul":null}
        {"time":"2024-05-01T12:00:02Z","at":"2024-05-01T12:00:00Z","n":3,"x":3,"s":"b","b":true,"o":{},"a":[]}
        """)
        let types = Dictionary(uniqueKeysWithValues: schema.columns.map { ($0.name, $0.type) })
        #expect(types["time"] == .timestamp)
        #expect(types["at"] == .string)
        #expect(types["n"] == .integer)
        #expect(types["x"] == .number)
        #expect(types["s"] == .string)
        #expect(types["b"] == .boolean)
        #expect(types["o"] == .json && types["a"] == .json)
        #expect(types["mixed"] == nil && types["nul"] == nil, "no single type fits: left to the extra column")
        #expect(inference.warnings.count == 2)
        let maybe = try #require(schema.columns.first { $0.name == "maybe" })
        #expect(maybe.nullable && !maybe.required)
        #expect(schema.columns.first { $0.name == "n" }?.required == true)
        #expect(schema.timestampColumn.map { schema.columns[$0].name } == "time")
        #expect(schema.additionalProperties)
    }

    @Test func timestampPrefersConventionalNamesThenTheFirstDateTime() throws {
        let (named, _) = try Self.infer(#"{"created":"2024-05-01T12:00:00Z","@timestamp":"2024-05-01T12:00:00Z"}"#)
        #expect(named.timestampColumn.map { named.columns[$0].name } == "@timestamp")
        let (first, _) = try Self.infer(#"{"a":"x","created":"2024-05-01T12:00:00Z","updated":"2024-05-01T12:00:00Z"}"#)
        #expect(first.timestampColumn.map { first.columns[$0].name } == "created")
        let (optional, _) = try Self.infer("{\"ts\":\"2024-05-01T12:00:00Z\"}\n{}")
        #expect(optional.timestampColumn == nil, "a timestamp must be required")
    }

    @Test func invalidInputNamesTheLine() {
        #expect { try Self.infer("{\"a\":1}\n{\"a\":}") } throws: { ($0 as? RecordError)?.line == 2 }
    }
}
