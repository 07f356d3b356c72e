// libFuzzer target: any bytes as a `--where` condition (and as an `--agg` list). Whatever parses
// is run over a small segment with every column type, nulls, absent fields, edge values and blocks
// of 1 and 3 rows, counting, listing and grouping; nothing may crash, and the count must equal the
// rows listed. Built by tools/fuzz against static SegmentFormat, NDJSON and Query libraries
// instrumented the same way.

import NDJSON
import Query
import SegmentFormat

let whereSchema: StreamSchema? = try? StreamSchema(json: Array("""
{"$id": "fuzz", "type": "object", "properties": {
  "ts": {"type": "string", "format": "date-time"}, "level": {"type": ["string", "null"]},
  "msg": {"type": ["string", "null"]}, "n": {"type": ["integer", "null"]}, "x": {"type": ["number", "null"]},
  "ok": {"type": ["boolean", "null"]}, "ctx": {"type": ["object", "null"]}
}, "required": ["ts"], "x-segment": {"timestamp": "ts"}}
""".utf8))

let whereRows = """
{"ts":"1969-12-31T23:59:59.999999999Z","level":"info","msg":"İstanbul %_ caf\\u00e9","n":9223372036854775807,"x":-0.0,"ok":true,"ctx":{"a":1}}
{"ts":"2024-05-01T12:00:00+02:00","level":"warn","msg":null,"n":-9223372036854775808,"x":1.7976931348623157e308,"ok":false}
{"ts":"2024-05-01T12:00:01Z","level":null,"msg":"e\\u0301 \\ud83d\\ude00 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","n":9007199254740993,"x":5e-324,"ok":null,"extra":[1]}
{"ts":"2262-04-11T23:47:16Z","level":"info","n":null,"x":null}
{"ts":"1677-09-21T00:12:43.145224192Z","level":"error","msg":"","n":0,"x":-1.5,"ok":true,"ctx":null}
"""

/// The segment, in blocks of `blockRows`.
func whereSegment(_ schema: StreamSchema, blockRows: Int) -> SegmentReader? {
    let parser = RecordParser(schema: schema)
    var writer = SegmentWriter(header: SegmentHeader(schema: schema, created: 0, blockRows: blockRows))
    var bytes = writer.headerBytes
    let encoder = BlockEncoder(compression: .lz4)
    for (i, line) in whereRows.split(separator: "\n").enumerated() {
        guard (try? Array(line.utf8).withUnsafeBytes({ try parser.append(line: $0, number: i + 1) })) != nil else { return nil }
        if parser.block.rowCount >= blockRows {
            bytes += writer.append(encoder.encode(parser.block))
            parser.block.removeAll()
        }
    }
    if parser.block.rowCount > 0 { bytes += writer.append(encoder.encode(parser.block)) }
    return try? SegmentReader(data: SegmentData(bytes + writer.footer()))
}

let whereReaders: [SegmentReader] = whereSchema.map { s in [1, 3].compactMap { whereSegment(s, blockRows: $0) } } ?? []

func runQuery(_ configure: (inout Query) -> Void) -> (String, Bool) {
    var query = Query()
    configure(&query)
    let sink = ByteSink()
    let runner = QueryRunner(query: query, sink: sink) { _ in }
    let ok = (try? runner.run(whereReaders.enumerated().map { ("seg\($0.offset)", $0.element) })) != nil
    return (String(decoding: sink.bytes(), as: UTF8.self), ok)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWhere(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard whereReaders.count == 2 else { fatalError("the fuzz segments did not build") }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? AggregateSpec.parseList(text)
    _ = LikePattern(text, caseInsensitive: true).matches(UnsafeBufferPointer(start: data, count: size))
    guard let condition = try? ExpressionParser.parse(text) else { return 0 }
    _ = ExpressionParser.column(ofField: condition.fields.first ?? "", in: text)
    let (count, counted) = runQuery { $0.filter = condition; $0.count = true; $0.format = .csv }
    let (rows, listed) = runQuery { $0.filter = condition; $0.select = ["n", "msg"]; $0.format = .csv }
    _ = runQuery { $0.filter = condition; $0.groupBy = ["level"]; $0.aggregates = (try? AggregateSpec.parseList("count(*),sum(n),avg(x),min(msg),count(distinct ok)")) ?? [] }
    guard counted == listed else { fatalError("counting and listing disagree on whether \(text) runs") }
    if counted {
        let n = Int(count.split(separator: "\n").last ?? "") ?? -1
        let listedRows = rows.split(separator: "\n", omittingEmptySubsequences: false).count - 2
        if n != listedRows { fatalError("\(text): count \(n) but \(listedRows) rows listed") }
    }
    return 0
}
