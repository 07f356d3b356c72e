// libFuzzer target: any bytes as NDJSON records of a schema with every column type. Whatever the
// parser accepts must encode (json and extra values shredded, with a bound taken from the input),
// seal, read back with every json and extra value byte for byte, and decode to exactly as many
// records; nothing may crash. Built by tools/fuzz against static SegmentFormat and NDJSON libraries
// instrumented the same way.

import NDJSON
import SegmentFormat

let fuzzSchema: StreamSchema? = try? StreamSchema(json: Array("""
{"$id": "fuzz", "type": "object", "properties": {
  "ts": {"type": "string", "format": "date-time"}, "level": {"type": "string", "enum": ["info", "warn"]},
  "msg": {"type": ["string", "null"]}, "n": {"type": "integer"}, "x": {"type": ["number", "null"]},
  "ok": {"type": "boolean"}, "ctx": {"type": "object"}, "tags": {"type": "array"}
}, "required": ["ts"], "x-segment": {"timestamp": "ts"}}
""".utf8))

// The same fields with an epoch timestamp (numbers of milliseconds, or date-times) and a default
// offset for date-times without one: the same bytes go through both.
let fuzzEpochSchema: StreamSchema? = try? StreamSchema(json: Array("""
{"$id": "fuzz", "type": "object", "properties": {
  "ts": {"type": "number"}, "level": {"type": "string", "enum": ["info", "warn"]},
  "msg": {"type": ["string", "null"]}, "n": {"type": "integer"}, "x": {"type": ["number", "null"]},
  "ok": {"type": "boolean"}, "ctx": {"type": "object"}, "tags": {"type": "array"}, "at": {"type": ["string", "null"], "format": "date-time"}
}, "required": ["ts"], "x-segment": {"timestamp": "ts", "timestamp-unit": "ms", "default-offset": "+02:00"}}
""".utf8))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecordParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let schema = fuzzSchema, let epochSchema = fuzzEpochSchema else { return 0 }
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var inference = SchemaInference()
    try? inference.add(input)
    _ = inference.schema(name: "fuzz")
    roundTrip(input, schema)
    roundTrip(input, epochSchema)
    return 0
}

private func roundTrip(_ input: UnsafeRawBufferPointer, _ schema: StreamSchema) {
    let parser = RecordParser(schema: schema)
    let appended = (try? parser.appendAll(input)) ?? parser.block.rowCount
    guard parser.block.rowCount > 0 else { return }
    var writer = SegmentWriter(header: SegmentHeader(schema: schema, created: 0))
    let encoder = BlockEncoder(compression: size % 2 == 0 ? .zstd : .lz4, maxShreddedColumns: size % 7)
    let bytes = writer.headerBytes + writer.append(encoder.encode(parser.block)) + writer.footer()
    guard let reader = try? SegmentReader(data: SegmentData(bytes)),
          let chunks = try? reader.header.columns.indices.map({ try reader.chunk(block: 0, column: $0) }) else {
        fatalError("a segment of accepted records did not read back")
    }
    for (c, column) in reader.header.columns.enumerated() where column.type == .json || column.type == .extra {
        let original = parser.block.builders[c].strings
        let back: StringValues
        switch chunks[c].values {
        case let .strings(s): back = s
        default: back = StringValues()
        }
        guard back.count == original.count, (0..<back.count).allSatisfy({ back[$0].elementsEqual(original[$0]) }) else {
            fatalError("column \(column.name) did not come back byte for byte")
        }
    }
    let sink = ByteSink()
    try? RecordWriter(columns: reader.header.columns).write(chunks, rows: 0..<reader.blocks[0].rowCount, to: sink)
    let lines = sink.bytes().filter { $0 == 0x0A }.count
    if lines != appended || !reader.verify().isEmpty { fatalError("wrote \(appended) records, read back \(lines)") }
    // What was written back must parse again, to the same number of records.
    let again = RecordParser(schema: schema)
    let reparsed = sink.bytes().withUnsafeBytes { (try? again.appendAll($0)) ?? -1 }
    if reparsed != appended { fatalError("decoded NDJSON did not parse back: \(reparsed) of \(appended)") }
}
