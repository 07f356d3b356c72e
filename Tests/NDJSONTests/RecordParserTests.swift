import Testing
import SegmentFormat
@testable import NDJSON

struct RecordParserTests {
    static let schemaText = """
    {"$id": "app", "type": "object", "properties": {
      "ts": {"type": "string", "format": "date-time"},
      "level": {"type": "string", "enum": ["info", "warn", "error"]},
      "msg": {"type": ["string", "null"]},
      "n": {"type": "integer"},
      "x": {"type": ["number", "null"]},
      "ok": {"type": "boolean"},
      "ctx": {"type": "object"},
      "tags": {"type": "array"}
    }, "required": ["ts", "level"], "x-segment": {"timestamp": "ts"}}
    """

    static func parser(_ text: String = schemaText) throws -> RecordParser {
        RecordParser(schema: try StreamSchema(json: Array(text.utf8)))
    }

    static func append(_ parser: RecordParser, _ ndjson: String) throws(RecordError) -> Int {
        var bytes = Array(ndjson.utf8)
        bytes.append(0)  // keep a valid base address for empty input
        var result: Result<Int, RecordError> = .success(0)
        bytes.withUnsafeBytes { raw in
            do throws(RecordError) {
                result = .success(try parser.appendAll(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 1)])))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    @Test func validRecordsFillEveryColumn() throws {
        let p = try Self.parser()
        let n = try Self.append(p, """
        {"ts":"2024-05-01T12:00:00.5Z","level":"info","msg":"caf\\u00e9 \\"quoted\\"","n":-42,"x":1.5e3,"ok":true,"ctx":{"a":[1,2]},"tags":["x"]}

        {"level":"warn","ts":"2024-05-01T14:00:00+02:00","msg":null,"x":7,"extra":{"k":1},"n":9223372036854775807}\r
        """)
        #expect(n == 2)
        let b = p.block.builders
        #expect(p.block.rowCount == 2)
        #expect(b[0].integers == [1_714_564_800_500_000_000, 1_714_564_800_000_000_000])
        #expect(b[1].strings.count == 2)
        #expect(String(decoding: b[2].strings[0], as: UTF8.self) == "caf\u{e9} \"quoted\"")
        #expect(b[2].nullRows == [1])
        #expect(b[3].integers == [-42, Int64.max])
        #expect(b[4].numbers == [1500, 7])
        #expect(b[5].booleans == [1] && b[5].absentRows == [1])
        #expect(String(decoding: b[6].strings[0], as: UTF8.self) == #"{"a":[1,2]}"#)
        #expect(String(decoding: b[8].strings[0], as: UTF8.self) == #""extra":{"k":1}"#)
        #expect(b[8].absentRows == [0])
    }

    /// Each bad record is refused with its line, its field and what was wrong, and nothing of it stays.
    @Test(arguments: [
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","n":"7"}"#, "n", "expected an integer, got a string"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","n":1.5}"#, "n", "fraction"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","n":9223372036854775808}"#, "n", "64 bits"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"debug"}"#, "level", "enum"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":null}"#, "level", "null is not allowed"),
        (#"{"ts":"yesterday","level":"info"}"#, "ts", "RFC 3339"),
        (#"{"ts":"2024-02-30T12:00:00Z","level":"info"}"#, "ts", "RFC 3339"),
        (#"{"level":"info"}"#, "ts", "required field is missing"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","level":"warn"}"#, "level", "twice"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","\u006cevel":"warn"}"#, "level", "twice"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","y":1,"\u0079":2}"#, "y", "twice"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","\u00e9t\u00E9":1,"été":2}"#, "été", "twice"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","a\/b":1,"a/b":2}"#, "a/b", "twice"),
        (#"{"ts":"2024-05-01T12:00:00","level":"info"}"#, "ts", "no offset"),
        (#"{"ts":1714564800000,"level":"info"}"#, "ts", "expected an RFC 3339 date-time string, got a number"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","ok":"yes"}"#, "ok", "expected a boolean"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","ctx":"{}"}"#, "ctx", "object or array"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","x":1e999}"#, "x", "range"),
        ("{\"ts\":\"2024-05-01T12:00:00Z\",\"level\":\"info\",\"msg\":\"a\u{01}b\"}", "msg", "control character"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","msg":"\ud800"}"#, "msg", "surrogate"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info","u":01}"#, "u", "leading zero"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info"} trailing"#, nil, "unexpected text"),
        (#"["not an object"]"#, nil, "expected a JSON object"),
        (#"{"ts":"2024-05-01T12:00:00Z","level":"info""#, nil, "expected ',' or '}'"),
    ] as [(String, String?, String)])
    func badRecordIsRefusedWithLineAndField(_ record: String, _ field: String?, _ message: String) throws {
        let p = try Self.parser()
        let good = #"{"ts":"2024-05-01T12:00:00Z","level":"info","msg":"kept","n":1,"ctx":{},"extra":true}"#
        do {
            _ = try Self.append(p, good + "\n" + record + "\n" + good)
            Issue.record("accepted \(record)")
        } catch {
            #expect(error.line == 2)
            #expect(error.field == field)
            #expect(error.message.contains(message), "\(error)")
        }
        // Only the first good record is in the block: the bad one was rolled back completely.
        #expect(p.block.rowCount == 1)
        for b in p.block.builders {
            #expect(b.valueCount + b.nullRows.count + b.absentRows.count == 1, "column \(b.descriptor.name)")
        }
        #expect(String(decoding: p.block.builders[8].strings.bytes, as: UTF8.self) == #""extra":true"#)
    }

    @Test func unknownFieldIsRefusedWhenAdditionalPropertiesIsFalse() throws {
        let p = try Self.parser(#"{"$id":"s","type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}"#)
        #expect { try Self.append(p, #"{"a":"x","b":1}"#) } throws: { error in
            let e = error as? RecordError
            return e?.field == "b" && e?.line == 1 && e?.message.contains("does not allow additional properties") == true
        }
    }

    @Test func lineNumbersCountBlankLines() throws {
        let p = try Self.parser()
        #expect { try Self.append(p, "\n\n" + #"{"ts":"2024-05-01T12:00:00Z"}"#) } throws: { ($0 as? RecordError)?.line == 3 }
    }

    @Test func numbersParseToTheNearestDouble() throws {
        let p = try Self.parser()
        let texts = ["0.1", "3.141592653589793", "1e-7", "123456789012345678901234567890", "-0.0", "2.2250738585072014e-308", "9007199254740993", "0.30000000000000004"]
        let lines = texts.map { #"{"ts":"2024-05-01T12:00:00Z","level":"info","x":\#($0)}"# }.joined(separator: "\n")
        _ = try Self.append(p, lines)
        #expect(p.block.builders[4].numbers.map(\.bitPattern) == texts.map { Double($0)!.bitPattern })
    }

    /// Unknown fields whose names differ only in escaping are the same field: the second is refused
    /// (it was stored in the extra column before), and an escaped name is stored unescaped.
    @Test func unknownFieldNamesAreComparedAndStoredUnescaped() throws {
        let p = try Self.parser()
        #expect { try Self.append(p, #"{"ts":"2024-05-01T12:00:00Z","level":"info","z":1,"\u007a":2}"#) } throws: { error in
            let e = error as? RecordError
            return e?.field == "z" && e?.message.contains("twice") == true
        }
        #expect(p.block.rowCount == 0)
        _ = try Self.append(p, #"{"ts":"2024-05-01T12:00:00Z","level":"info","\u007a\n":1,"z":"\u007a","q\"":[true]}"#)
        #expect(String(decoding: p.block.builders[8].strings.bytes, as: UTF8.self) == #""z\n":1,"z":"\u007a","q\"":[true]"#)
    }

    static let epochSchema = """
    {"$id": "ep", "type": "object", "properties": {
      "time": {"type": "integer"}, "at": {"type": ["string", "null"], "format": "date-time"}
    }, "required": ["time"], "x-segment": {"timestamp": "time", "timestamp-unit": "UNIT", "default-offset": "+02:00"}}
    """

    /// With `x-segment.timestamp-unit`, the timestamp field takes a number of that unit since the
    /// epoch, converted exactly from its digits (fractions too), as well as a date-time string.
    @Test(arguments: [
        ("s", "1714564800", Int64(1_714_564_800_000_000_000)),
        ("s", "1714564800.123456789", Int64(1_714_564_800_123_456_789)),
        ("s", "1714564800.1234567891", Int64(1_714_564_800_123_456_789)),
        ("s", "1.7145648e9", Int64(1_714_564_800_000_000_000)),
        ("s", "-1.5", Int64(-1_500_000_000)),
        ("s", "-0.0000000001", Int64(-1)),
        ("ms", "1714564800250", Int64(1_714_564_800_250_000_000)),
        ("ms", "1714564800250.5", Int64(1_714_564_800_250_500_000)),
        ("us", "1714564800250001", Int64(1_714_564_800_250_001_000)),
        ("ns", "1714564800250000001", Int64(1_714_564_800_250_000_001)),
        ("ns", "9223372036854775807", Int64.max),
        ("ns", "-9223372036854775808", Int64.min),
        ("ms", "0", Int64(0)),
        ("ms", "\"2024-05-01T12:00:00.25Z\"", Int64(1_714_564_800_250_000_000)),
        ("ms", "\"2024-05-01 14:00:00.25\"", Int64(1_714_564_800_250_000_000)),
    ])
    func epochNumbersInTheSchemasUnit(_ unit: String, _ value: String, _ ns: Int64) throws {
        let p = try Self.parser(Self.epochSchema.replacingOccurrences(of: "UNIT", with: unit))
        #expect(try Self.append(p, #"{"time":\#(value)}"#) == 1)
        #expect(p.block.builders[0].integers == [ns])
    }

    @Test(arguments: [
        ("s", "9300000000", "outside"),
        ("ns", "9223372036854775808", "outside"),
        ("ms", "1e300", "outside"),
        ("ms", "true", "or a number of ms since the epoch, got a boolean"),
    ])
    func epochNumbersOutOfRangeAreRefused(_ unit: String, _ value: String, _ message: String) throws {
        let p = try Self.parser(Self.epochSchema.replacingOccurrences(of: "UNIT", with: unit))
        #expect { try Self.append(p, #"{"time":\#(value)}"#) } throws: { error in
            let e = error as? RecordError
            return e?.field == "time" && e?.message.contains(message) == true
        }
    }

    /// `x-segment.default-offset` applies to every date-time field of the stream; numbers only to
    /// the timestamp field.
    @Test func defaultOffsetAppliesToEveryDateTimeField() throws {
        let p = try Self.parser(Self.epochSchema.replacingOccurrences(of: "UNIT", with: "ms"))
        _ = try Self.append(p, #"{"time":0,"at":"2024-05-01T14:00:00"}"#)
        #expect(p.block.builders[1].integers == [1_714_564_800_000_000_000])
        #expect { try Self.append(p, #"{"time":0,"at":1714564800000}"#) } throws: { ($0 as? RecordError)?.field == "at" }
    }

    @Test func aRecordLongerThanASegmentHoldsIsRefused() throws {
        let p = try Self.parser()
        let long = #"{"ts":"2024-05-01T12:00:00Z","level":"info","msg":""# + String(repeating: "x", count: FormatConstants.maxRecordBytes) + #""}"#
        let error = #expect(throws: RecordError.self) { try Self.append(p, long) }
        #expect(error?.message.contains("longer than the 64 MiB a segment holds") == true, "\(String(describing: error))")
        #expect(p.block.rowCount == 0)
    }
}

