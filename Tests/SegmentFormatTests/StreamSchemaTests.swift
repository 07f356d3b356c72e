import Testing
@testable import SegmentFormat

struct StreamSchemaTests {
    static func load(_ text: String) throws -> StreamSchema { try StreamSchema(json: Array(text.utf8)) }

    static func schema(properties: String, extra: String = "") -> String {
        #"{"$id": "app", "type": "object", "properties": {\#(properties)}\#(extra)}"#
    }

    @Test func loadsEveryTypeInPropertyOrder() throws {
        let s = try Self.load(Self.schema(properties: """
            "ts": {"type": "string", "format": "date-time"}, "msg": {"type": "string", "description": "text"},
            "n": {"type": ["integer", "null"]}, "x": {"type": "number"}, "ok": {"type": "boolean"},
            "tags": {"type": "array"}, "ctx": {"type": "object"}, "level": {"type": ["string", "null"], "enum": ["info", "warn", null]}
            """, extra: #", "required": ["ts"], "x-segment": {"timestamp": "ts", "codec": "zlib-9"}"#))
        #expect(s.name == "app")
        #expect(s.columns.map(\.name) == ["ts", "msg", "n", "x", "ok", "tags", "ctx", "level", ""])
        #expect(s.columns.map(\.type) == [.timestamp, .string, .integer, .number, .boolean, .json, .json, .string, .extra])
        #expect(s.columns[2].nullable && !s.columns[1].nullable)
        #expect(s.timestampColumn == 0)
        #expect(s.compression == .zlib9)
        #expect(s.enumValues[7] == [Array("info".utf8), Array("warn".utf8)])
        #expect(s.columns[7].nullable)
        #expect(s.extraColumn == 8)
    }

    @Test func additionalPropertiesFalseHasNoExtraColumn() throws {
        let s = try Self.load(Self.schema(properties: #""a": {"type": "string"}"#, extra: #", "additionalProperties": false"#))
        #expect(s.extraColumn == nil)
        #expect(s.columns.count == 1)
        #expect(s.compression == .zstd, "zstd is the default codec")
    }

    /// Each unsupported or wrong construct is refused with a message naming it.
    @Test(arguments: [
        (schema(properties: #""a": {"type": "string", "pattern": "^x"}"#), "pattern"),
        (schema(properties: #""a": {"type": "integer", "minimum": 0}"#), "minimum"),
        (schema(properties: #""a": {"type": "string"}"#, extra: #", "patternProperties": {}"#), "patternProperties"),
        (schema(properties: #""a": {"type": ["string", "integer"]}"#), "exactly one type"),
        (schema(properties: #""a": {"type": "string", "format": "email"}"#), "date-time"),
        (schema(properties: #""a": {"type": "integer", "enum": [1]}"#), "enum"),
        (schema(properties: #""a": {"type": "string", "enum": ["x", null]}"#), "enum"),
        (schema(properties: #""t": {"type": "string", "format": "date-time"}"#, extra: #", "x-segment": {"timestamp": "t"}"#), "required"),
        (schema(properties: #""t": {"type": "string"}"#, extra: #", "required": ["t"], "x-segment": {"timestamp": "t"}"#), "date-time"),
        (schema(properties: #""a": {"type": "string"}"#, extra: #", "x-segment": {"codec": "snappy"}"#), "codec"),
        (schema(properties: #""a": {"type": "string"}"#, extra: #", "required": ["b"]"#), "'b'"),
        (schema(properties: #""a": {"type": "string"}"#, extra: #", "additionalProperties": {"type": "string"}"#), "additionalProperties"),
        (#"{"$id": "Bad Name", "type": "object", "properties": {}}"#, "stream name"),
        (#"{"type": "object", "properties": {}}"#, "$id"),
        (#"{"$id": "a", "type": "object", "properties": {"a": {"type": "string"}"#, "not valid JSON"),
    ])
    func refusesWhatItWouldNotEnforce(_ text: String, _ mention: String) {
        do {
            _ = try Self.load(text)
            Issue.record("loaded a schema that should be refused: \(text)")
        } catch {
            #expect("\(error)".contains(mention), "message '\(error)' should mention \(mention)")
        }
    }

    @Test func streamNamesFollowThePathSafePattern() {
        #expect(StreamSchema.isValidName("weblog"))
        #expect(StreamSchema.isValidName("a0_b-c"))
        #expect(!StreamSchema.isValidName(""))
        #expect(!StreamSchema.isValidName("-x"))
        #expect(!StreamSchema.isValidName("../etc"))
        #expect(!StreamSchema.isValidName("Web"))
        #expect(!StreamSchema.isValidName(String(repeating: "a", count: 64)))
    }

    /// `x-segment.timestamp-unit` lets the timestamp field be an integer or number (a timestamp
    /// column all the same); `x-segment.default-offset` takes the offsets date-times use.
    @Test func timestampUnitAndDefaultOffset() throws {
        let s = try Self.load(Self.schema(properties: #""t": {"type": "number"}, "n": {"type": "integer"}"#,
                                          extra: #", "required": ["t"], "x-segment": {"timestamp": "t", "timestamp-unit": "ms", "default-offset": "-0530"}"#))
        #expect(s.columns.map(\.type) == [.timestamp, .integer, .extra])
        #expect(s.timestampUnit == .milliseconds)
        #expect(s.defaultOffset == -19_800)
        let plain = try Self.load(Self.schema(properties: #""t": {"type": "string", "format": "date-time"}"#,
                                              extra: #", "required": ["t"], "x-segment": {"timestamp": "t", "default-offset": "Z"}"#))
        #expect(plain.timestampUnit == nil && plain.defaultOffset == 0)
    }

    @Test(arguments: [
        (#""t": {"type": "integer"}"#, #"{"timestamp": "t"}"#, "x-segment.timestamp-unit"),
        (#""t": {"type": "integer"}"#, #"{"timestamp": "t", "timestamp-unit": "minutes"}"#, "must be one of s, ms, us, ns"),
        (#""t": {"type": "integer"}"#, #"{"timestamp-unit": "ms"}"#, "needs \"x-segment.timestamp\""),
        (#""t": {"type": "boolean"}"#, #"{"timestamp": "t", "timestamp-unit": "ms"}"#, "must be {"),
        (#""t": {"type": "string", "format": "date-time"}"#, #"{"timestamp": "t", "default-offset": "CEST"}"#, "offset from UTC"),
        (#""t": {"type": "string", "format": "date-time"}"#, #"{"timestamp": "t", "default-offset": "+25:00"}"#, "offset from UTC"),
    ])
    func badTimestampSettingsAreRefused(_ properties: String, _ segment: String, _ message: String) {
        #expect { try Self.load(Self.schema(properties: properties, extra: #", "required": ["t"], "x-segment": \#(segment)"#)) } throws: { error in
            (error as? SchemaError)?.message.contains(message) == true
        }
    }
}
