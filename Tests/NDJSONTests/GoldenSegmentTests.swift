import Foundation
import Testing
import SegmentFormat
@testable import NDJSON

/// The byte layout of small segments is fixed: any change to the format shows up here and must be
/// deliberate (regenerate with `SEGMENTS_UPDATE_GOLDEN=1 swift test --filter GoldenSegmentTests`,
/// and say why in the commit). `Golden/v1-small.seg` was written by the version 1 code and is never
/// regenerated: readers must keep reading it, and the writer asked for version 1 must still produce it.
struct GoldenSegmentTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static let schema = """
    {"$id": "golden", "type": "object", "properties": {
      "ts": {"type": "string", "format": "date-time"}, "level": {"type": "string", "enum": ["info", "warn"]},
      "msg": {"type": ["string", "null"]}, "n": {"type": "integer"}, "x": {"type": ["number", "null"]},
      "ok": {"type": "boolean"}, "ctx": {"type": "object"}
    }, "required": ["ts", "level"], "x-segment": {"timestamp": "ts", "codec": "zlib"}}
    """

    static let records = """
    {"ts":"2024-05-01T12:00:00Z","level":"info","msg":"started","n":1,"x":0.5,"ok":true,"ctx":{"pid":42}}
    {"ts":"2024-05-01T12:00:01.250Z","level":"warn","msg":null,"n":2,"x":null,"ok":false}
    {"ts":"2024-05-01T12:00:02.5Z","level":"info","msg":"caf\\u00e9","n":3,"ok":true,"extra":[1]}
    {"ts":"2024-05-01T12:00:04Z","level":"info","n":5,"x":2,"ok":true}
    {"ts":"2024-05-01T12:00:08Z","level":"warn","msg":"done","n":8,"ok":false,"ctx":{}}

    """

    /// What the version 1 golden file decodes to (instants in the writer's RFC 3339 form).
    static let v1Decoded = """
    {"ts":"2024-05-01T12:00:00Z","level":"info","msg":"started","n":1,"x":0.5,"ok":true,"ctx":{"pid":42}}
    {"ts":"2024-05-01T12:00:01.250Z","level":"warn","msg":null,"n":2,"x":null,"ok":false}
    {"ts":"2024-05-01T12:00:02.500Z","level":"info","msg":"café","n":3,"ok":true,"extra":[1]}
    {"ts":"2024-05-01T12:00:04Z","level":"info","n":5,"x":2.0,"ok":true}
    {"ts":"2024-05-01T12:00:08Z","level":"warn","msg":"done","n":8,"ok":false,"ctx":{}}

    """

    /// Records that use what version 2 adds: nested objects and unknown fields (shredded paths of
    /// several types, a null, an array, a key with a dot, a value kept whole for its duplicate key),
    /// log text, and a low-cardinality integer column.
    static var v2Records: String {
        (0..<24).map { i in
            let ctx = i == 7 ? #"{"a":1,"a":2}"# : #"{"http":{"status":\#([200, 404, 500][i % 3]),"m":"GET"},"dur":\#(Double(i) / 4 + 0.5),"tags":["t\#(i % 2)"],"u":null,"k.dot":true}"#
            let extra = i % 4 == 0 ? #","trace":"\#(String(i * 7919, radix: 16))","pod":{"ns":"prod"}"# : ""
            return #"{"ts":"2024-05-01T12:00:\#(String(format: "%02d", i))Z","level":"info","msg":"request \#(i) from 10.0.0.\#(i % 5) took \#(i * 3) ms","n":\#([3, 1000, 123456, 3][i % 4]),"ok":true,"ctx":\#(ctx)\#(extra)}"#
        }.joined(separator: "\n") + "\n"
    }

    static func build(_ records: String, version: UInt16, blockRows: Int) throws -> [UInt8] {
        let streamSchema = try StreamSchema(json: Array(schema.utf8))
        let assembler = BlockAssembler(columns: streamSchema.columns, maxRows: blockRows)
        let parser = RecordParser(schema: streamSchema, block: assembler.block)
        let header = SegmentHeader(schema: streamSchema, tenant: "acme", node: "golden-node", segmentID: "00112233445566778899aabbccddeeff",
                                   created: 1_714_564_800_000_000_000, blockRows: blockRows, version: version)
        var writer = SegmentWriter(header: header)
        var bytes = writer.headerBytes
        let encoder = BlockEncoder(compression: streamSchema.compression, formatVersion: version)
        for (i, line) in records.split(separator: "\n").enumerated() {
            try Array(line.utf8).withUnsafeBytes { try parser.append(line: $0, number: i + 1) }
            if assembler.isFull {
                bytes += writer.append(encoder.encode(parser.block))
                parser.block.removeAll()
            }
        }
        if parser.block.rowCount > 0 { bytes += writer.append(encoder.encode(parser.block)) }
        return bytes + writer.footer()
    }

    static func decode(_ path: URL) throws -> String {
        let reader = try SegmentReader(path: path.path)
        let sink = ByteSink()
        let writer = RecordWriter(columns: reader.header.columns)
        for b in reader.blocks.indices {
            let chunks = try reader.header.columns.indices.map { try reader.chunk(block: b, column: $0) }
            try writer.write(chunks, rows: 0..<reader.blocks[b].rowCount, to: sink)
        }
        try sink.flush()
        return String(decoding: sink.collected, as: UTF8.self)
    }

    static func expectGolden(_ bytes: [UInt8], _ name: String, regenerate: Bool) throws {
        let path = goldenDirectory.appendingPathComponent(name)
        if regenerate && ProcessInfo.processInfo.environment["SEGMENTS_UPDATE_GOLDEN"] == "1" {
            try Data(bytes).write(to: path)
        }
        let golden = try [UInt8](Data(contentsOf: path))
        #expect(bytes.count == golden.count, "\(name)")
        let firstDifference = zip(bytes, golden).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "segment differs from Golden/\(name) at byte \(firstDifference ?? -1)")
    }

    @Test func versionOneWriterStillProducesTheVersionOneGoldenFile() throws {
        try Self.expectGolden(try Self.build(Self.records, version: 1, blockRows: 3), "v1-small.seg", regenerate: false)
    }

    @Test func versionOneGoldenFileDecodesToItsRecords() throws {
        let path = Self.goldenDirectory.appendingPathComponent("v1-small.seg")
        let reader = try SegmentReader(path: path.path)
        #expect(reader.header.version == 1 && reader.isSealed && reader.verify().isEmpty)
        #expect(reader.rowCount == 5 && reader.blocks.count == 2)
        #expect(try Self.decode(path) == Self.v1Decoded)
    }

    @Test func versionTwoSegmentMatchesItsGoldenFile() throws {
        try Self.expectGolden(try Self.build(Self.v2Records, version: 2, blockRows: 16), "v2-small.seg", regenerate: true)
    }

    @Test func versionTwoGoldenFileUsesTheNewCodesAndDecodesByteForByte() throws {
        let path = Self.goldenDirectory.appendingPathComponent("v2-small.seg")
        let reader = try SegmentReader(path: path.path)
        #expect(reader.header.version == 2 && reader.isSealed && reader.verify().isEmpty)
        let encodings = Set(reader.blocks.flatMap { $0.allChunks.map(\.encoding) })
        #expect(encodings.isSuperset(of: [.shreddedJSON, .logText, .dictInt64]), "\(encodings)")
        let paths = Set(reader.blocks[0].shredded.map { $0.column.pathText + ":" + $0.column.type.name })
        #expect(paths.isSuperset(of: ["http.status:integer", "http.m:string", "dur:number", "tags:json", "u:json", "\"k.dot\":boolean", "trace:string", "pod.ns:string"]), "\(paths)")
        #expect(try Self.decode(path) == Self.v2Records)
    }
}
