import Foundation
import Testing
import SegmentFormat
@testable import NDJSON

/// NDJSON in, segment bytes, NDJSON out: the whole pipeline in process.
struct RecordWriterTests {
    static let schema = """
    {"$id": "app", "type": "object", "properties": {
      "ts": {"type": "string", "format": "date-time"}, "level": {"type": "string"},
      "msg": {"type": ["string", "null"]}, "n": {"type": ["integer", "null"]}, "x": {"type": "number"},
      "ok": {"type": "boolean"}, "ctx": {"type": ["object", "null"]}
    }, "required": ["ts"], "x-segment": {"timestamp": "ts"}}
    """

    /// Packs `ndjson` into a segment (blocks of `blockRows`) and decodes it back to NDJSON text.
    static func roundTrip(_ ndjson: String, schema: String = schema, blockRows: Int = 3, compression: CompressionSetting = .lz4) throws -> String {
        let streamSchema = try StreamSchema(json: Array(schema.utf8))
        let assembler = BlockAssembler(columns: streamSchema.columns, maxRows: blockRows)
        let parser = RecordParser(schema: streamSchema, block: assembler.block)
        var writer = SegmentWriter(header: SegmentHeader(schema: streamSchema, created: 0, blockRows: blockRows))
        var bytes = writer.headerBytes
        let encoder = BlockEncoder(compression: compression)
        var failure: RecordError?
        Array(ndjson.utf8).withUnsafeBytes { raw in
            NDJSONLines.forEach(raw) { line, number in
                do throws(RecordError) {
                    try parser.append(line: line, number: number)
                } catch {
                    failure = error
                    return false
                }
                if assembler.isFull {
                    bytes += writer.append(encoder.encode(parser.block))
                    parser.block.removeAll()
                }
                return true
            }
        }
        if let failure { throw failure }
        if parser.block.rowCount > 0 { bytes += writer.append(encoder.encode(parser.block)) }
        bytes += writer.footer()
        let reader = try SegmentReader(data: SegmentData(bytes))
        let sink = ByteSink()
        let out = RecordWriter(columns: reader.header.columns)
        for b in reader.blocks.indices {
            let chunks = try reader.header.columns.indices.map { try reader.chunk(block: b, column: $0) }
            try out.write(chunks, rows: 0..<reader.blocks[b].rowCount, to: sink)
        }
        try sink.flush()
        return String(decoding: sink.bytes(), as: UTF8.self)
    }

    static let canonical = """
    {"ts":"2024-05-01T12:00:00Z","level":"info","msg":"plain","n":1,"x":1.5,"ok":true,"ctx":{"a":[1,{"b":null}]}}
    {"ts":"2024-05-01T12:00:00.001Z","level":"warn","msg":null,"n":null,"x":-0.25,"ok":false,"ctx":null}
    {"ts":"2024-05-01T12:00:01.000001Z","level":"info","x":1e-07,"ok":true,"unknown":[1,2],"other":"x"}
    {"ts":"2024-05-01T12:00:02.123456789Z","level":"error","msg":"tab\\tquote\\"back\\\\slash\\u0001 caf\\u00e9 \\ud83d\\ude00","n":-9223372036854775808,"x":1.7976931348623157e+308,"ok":false}
    {"ts":"1970-01-01T00:00:00Z"}

    """

    @Test(arguments: [CompressionSetting.lz4, .zlib, .zlib9, .none])
    func compactRecordsComeBackByteForByte(_ compression: CompressionSetting) throws {
        let out = try Self.roundTrip(Self.canonical, compression: compression)
        // Non-ASCII escapes come back as the UTF-8 characters they stand for; everything else is identical.
        let expected = Self.canonical
            .replacingOccurrences(of: "\\u00e9", with: "\u{e9}")
            .replacingOccurrences(of: "\\ud83d\\ude00", with: "\u{1F600}")
        #expect(out == expected)
    }

    @Test func recordsComeBackWithTheSameKeysAndValues() throws {
        let input = """
        { "level" : "info", "ts" : "2024-05-01T14:00:00.000+02:00", "x" : 10 , "later": {"k": 1} }
        {"x":2.50,"ts":"2024-05-01T12:00:00Z","n":0}
        """
        let out = try Self.roundTrip(input)
        let parse: (String) throws -> [NSDictionary] = { text in
            try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! NSDictionary }
        }
        var original = try parse(input)
        // The same instant, written in UTC.
        let first = original[0].mutableCopy() as! NSMutableDictionary
        first["ts"] = "2024-05-01T12:00:00Z"
        original[0] = first
        #expect(try parse(out) == original)
    }

    @Test func theEarliestAndLatestInstantsComeBack() throws {
        let input = """
        {"ts":"1677-09-21T00:12:43.145224192Z"}
        {"ts":"2262-04-11T23:47:16.854775807Z"}
        {"ts":"1969-12-31T23:59:59.999999999Z"}

        """
        #expect(try Self.roundTrip(input) == input)
    }

    @Test func manyBlocksKeepRowOrder() throws {
        let lines = (0..<100).map { #"{"ts":"2024-05-01T12:00:\#(String(format: "%02d", $0 % 60))Z","n":\#($0)}"# }
        let input = lines.joined(separator: "\n") + "\n"
        #expect(try Self.roundTrip(input, blockRows: 7) == input)
    }
}
