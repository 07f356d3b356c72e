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

    @Test func aRecordLongerThanASegmentHoldsIsRefused() throws {
        let p = try Self.parser()
        let long = #"{"ts":"2024-05-01T12:00:00Z","level":"info","msg":""# + String(repeating: "x", count: FormatConstants.maxRecordBytes) + #""}"#
        let error = #expect(throws: RecordError.self) { try Self.append(p, long) }
        #expect(error?.message.contains("longer than the 64 MiB a segment holds") == true, "\(String(describing: error))")
        #expect(p.block.rowCount == 0)
    }
}

