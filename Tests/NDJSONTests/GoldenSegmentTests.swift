import Foundation
import Testing
import SegmentFormat
@testable import NDJSON

/// The byte layout of a small segment is fixed: any change to the format shows up here and must be
/// deliberate (regenerate with `SEGMENTS_UPDATE_GOLDEN=1 swift test --filter GoldenSegmentTests`,
/// and say why in the commit).
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

    static func build() throws -> [UInt8] {
        let streamSchema = try StreamSchema(json: Array(schema.utf8))
        let assembler = BlockAssembler(columns: streamSchema.columns, maxRows: 3)
        let parser = RecordParser(schema: streamSchema, block: assembler.block)
        let header = SegmentHeader(schema: streamSchema, tenant: "acme", node: "golden-node", segmentID: "00112233445566778899aabbccddeeff",
                                   created: 1_714_564_800_000_000_000, blockRows: 3)
        var writer = SegmentWriter(header: header)
        var bytes = writer.headerBytes
        let encoder = BlockEncoder(compression: streamSchema.compression)
        var lines: [String] = []
        for line in records.split(separator: "\n") { lines.append(String(line)) }
        for (i, line) in lines.enumerated() {
            try Array(line.utf8).withUnsafeBytes { try parser.append(line: $0, number: i + 1) }
            if assembler.isFull {
                bytes += writer.append(encoder.encode(parser.block))
                parser.block.removeAll()
            }
        }
        bytes += writer.append(encoder.encode(parser.block))
        return bytes + writer.footer()
    }

    @Test func smallSegmentMatchesTheGoldenFileByteForByte() throws {
        let bytes = try Self.build()
        let path = Self.goldenDirectory.appendingPathComponent("small.seg")
        if ProcessInfo.processInfo.environment["SEGMENTS_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: Self.goldenDirectory, withIntermediateDirectories: true)
            try Data(bytes).write(to: path)
        }
        let golden = try [UInt8](Data(contentsOf: path))
        #expect(bytes.count == golden.count)
        let firstDifference = zip(bytes, golden).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "segment differs from Golden/small.seg at byte \(firstDifference ?? -1)")
    }

    @Test func goldenFileStillDecodes() throws {
        let reader = try SegmentReader(path: Self.goldenDirectory.appendingPathComponent("small.seg").path)
        #expect(reader.isSealed)
        #expect(reader.verify().isEmpty)
        #expect(reader.rowCount == 5)
        #expect(reader.blocks.count == 2)
        #expect(reader.header.segmentID == "00112233445566778899aabbccddeeff")
    }
}
