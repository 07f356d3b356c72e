import Foundation
import Testing
import NDJSON
import SegmentFormat
@testable import Ingest

struct ActiveSegmentTests {
    static let schema = try! StreamSchema(json: Array("""
    {"$id": "app", "type": "object", "properties": {"ts": {"type": "string", "format": "date-time"}, "n": {"type": "integer"}},
     "required": ["ts"], "x-segment": {"timestamp": "ts"}}
    """.utf8))

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("seg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A block of `count` records starting at record `first`.
    static func block(first: Int, count: Int) throws -> BlockEncoder.EncodedBlock {
        let parser = RecordParser(schema: schema)
        for i in first..<(first + count) {
            let line = #"{"ts":"2024-05-01T00:00:\#(String(format: "%02d", i % 60))Z","n":\#(i)}"#
            try Array(line.utf8).withUnsafeBytes { try parser.append(line: $0, number: i + 1) }
        }
        return BlockEncoder(compression: .lz4).encode(parser.block)
    }

    static func values(_ path: String) throws -> [Int64] {
        let reader = try SegmentReader(path: path)
        return try reader.blocks.indices.flatMap { b -> [Int64] in
            guard case let .integers(v) = try reader.chunk(block: b, column: 1).values else { return [] }
            return v
        }
    }

    @Test func appendedBlocksSealIntoRotated() throws {
        let dir = try Self.directory()
        let path = dir + "/app.seg"
        let segment = try ActiveSegment(creating: path, header: SegmentHeader(schema: Self.schema, created: 0))
        try segment.append(Self.block(first: 0, count: 10))
        try segment.append(Self.block(first: 10, count: 5))
        #expect(segment.rowCount == 15 && segment.blockCount == 2)
        let sealed = try segment.seal(into: dir + "/rotated")
        #expect(sealed.path == dir + "/rotated/app.seg" && sealed.rows == 15)
        #expect(sealed.timeRange == RFC3339.parse("2024-05-01T00:00:00Z")!...RFC3339.parse("2024-05-01T00:00:14Z")!)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try SegmentReader(path: sealed.path).verify().isEmpty)
        #expect(try Self.values(sealed.path) == (0..<15).map(Int64.init))
    }

    @Test func aCrashedSegmentKeepsItsCompleteBlocksAndContinues() throws {
        let dir = try Self.directory()
        let path = dir + "/app.seg"
        do {
            let segment = try ActiveSegment(creating: path, header: SegmentHeader(schema: Self.schema, created: 0))
            try segment.append(Self.block(first: 0, count: 10))
            try segment.append(Self.block(first: 10, count: 10))
        }
        // The writer died while writing a third block: half of it reached the file.
        let third = try Self.block(first: 20, count: 10).bytes
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data(third.prefix(third.count / 2)))
        handle.closeFile()

        guard case let .active(segment) = try ActiveSegment.recover(path: path, rotatedDirectory: dir + "/rotated") else {
            Issue.record("an unsealed segment should come back active")
            return
        }
        #expect(segment.blockCount == 2 && segment.rowCount == 20)
        try segment.append(Self.block(first: 20, count: 3))
        let sealed = try segment.seal(into: dir + "/rotated")
        #expect(try SegmentReader(path: sealed.path).verify().isEmpty)
        #expect(try Self.values(sealed.path) == (0..<23).map(Int64.init))
    }

    @Test func aSealedButUnmovedSegmentIsMovedOnRecovery() throws {
        let dir = try Self.directory()
        let path = dir + "/app.seg"
        let segment = try ActiveSegment(creating: path, header: SegmentHeader(schema: Self.schema, created: 0))
        try segment.append(Self.block(first: 0, count: 4))
        let sealed = try segment.seal(into: dir + "/rotated")
        // Put it back as if the rename had not happened.
        #expect(rename(sealed.path, path) == 0)
        guard case let .sealed(moved) = try ActiveSegment.recover(path: path, rotatedDirectory: dir + "/rotated") else {
            Issue.record("a sealed segment should be moved, not reopened")
            return
        }
        #expect(moved == sealed)
    }

    /// A segment an older segd began (format version 1) is sealed on recovery, never appended to
    /// with blocks of the current version.
    @Test func anOlderVersionSegmentIsSealedOnRecovery() throws {
        let dir = try Self.directory()
        let path = dir + "/app.seg"
        let segment = try ActiveSegment(creating: path, header: SegmentHeader(schema: Self.schema, created: 0, version: 1))
        let parser = RecordParser(schema: Self.schema)
        let line = #"{"ts":"2024-05-01T00:00:00Z","n":7}"#
        try Array(line.utf8).withUnsafeBytes { try parser.append(line: $0, number: 1) }
        try segment.append(BlockEncoder(compression: .lz4, formatVersion: 1).encode(parser.block))
        guard case let .sealed(moved) = try ActiveSegment.recover(path: path, rotatedDirectory: dir + "/rotated") else {
            Issue.record("a version 1 segment should be sealed, not reopened")
            return
        }
        let reader = try SegmentReader(path: moved.path)
        #expect(reader.header.version == 1 && reader.isSealed && reader.verify().isEmpty)
        #expect(try Self.values(moved.path) == [7])
    }

    @Test func namesFollowStreamTimeNodeSequence() {
        let ns = RFC3339.parse("2026-11-25T05:04:03.5Z")!
        #expect(SegmentName.make(stream: "weblog", created: ns, node: "ip-10-0-0-1.ec2", sequence: 7)
                == "weblog-20261125T050403Z-ip-10-0-0-1.ec2-000007.seg".replacingOccurrences(of: "ip-10-0-0-1", with: "ip_10_0_0_1"))
        #expect(SegmentName.make(stream: "a", created: 0, node: "../x", sequence: 0) == "a-19700101T000000Z-.._x-000000.seg")
    }
}
