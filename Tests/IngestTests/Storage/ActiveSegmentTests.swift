import Foundation
import NDJSON
import SegmentFormat
import Testing
@testable import Ingest

/// The active segment: blocks appended durably, and sealing in steps that can each be retried.
struct ActiveSegmentTests {
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("seg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path + "/rotated", withIntermediateDirectories: true)
        return path
    }

    static func create(_ dir: String, _ fs: any FileSystem = PosixFileSystem()) throws -> ActiveSegment {
        try ActiveSegment.create("app.seg", in: dir, header: SegmentHeader(schema: StreamFixture.schema, created: 0), fileSystem: fs)
    }

    @Test func appendedBlocksSealIntoRotated() throws {
        let dir = try Self.directory()
        let segment = try Self.create(dir)
        try segment.append(StreamFixture.block(first: 0, count: 10))
        try segment.append(StreamFixture.block(first: 10, count: 5))
        #expect(segment.rowCount == 15 && segment.blockCount == 2)
        try segment.writeFooter()
        let (sealed, outcome) = try segment.move(into: dir + "/rotated", as: "app.seg")
        #expect(outcome == .replaced)
        #expect(sealed.path == dir + "/rotated/app.seg" && sealed.rows == 15)
        #expect(sealed.timeRange == RFC3339.parse("2024-05-01T00:00:00Z")!...RFC3339.parse("2024-05-01T00:00:14Z")!)
        #expect(!FileManager.default.fileExists(atPath: dir + "/app.seg"))
        #expect(try SegmentReader(path: sealed.path).verify().isEmpty)
        #expect(try StreamFixture.values(sealed.path) == (0..<15).map(Int64.init))
    }

    @Test func aFailedBlockWriteLeavesTheSegmentAsItWas() throws {
        let dir = try Self.directory()
        let fs = FaultyFileSystem()
        let segment = try Self.create(dir, fs)
        try segment.append(StreamFixture.block(first: 0, count: 4))
        fs.shortWrite(path: "app.seg", bytes: 10)
        fs.fail(.write, path: "app.seg", code: ENOSPC)
        #expect(throws: FileSystemError.self) { try segment.append(StreamFixture.block(first: 4, count: 4)) }
        #expect(segment.state == .open && segment.blockCount == 1)
        try segment.append(StreamFixture.block(first: 4, count: 4))
        try segment.writeFooter()
        let (sealed, _) = try segment.move(into: dir + "/rotated", as: "app.seg")
        #expect(try StreamFixture.values(sealed.path) == (0..<8).map(Int64.init))
    }

    @Test func aSegmentPoisonedWhileSealingIsSealedFromACopyOfItsConfirmedBlocks() throws {
        let dir = try Self.directory()
        let fs = FaultyFileSystem()
        let segment = try Self.create(dir, fs)
        try segment.append(StreamFixture.block(first: 0, count: 6))
        fs.fail(.fsync, path: "/app.seg")
        #expect(throws: FileSystemError.self) { try segment.writeFooter() }
        #expect(segment.state == .poisoned)
        let syncs = fs.count(.fsync)
        let (sealed, _) = try segment.copySealed(into: dir + "/rotated", as: "app.seg", confirmedBytes: segment.size)
        #expect(fs.count(.fsync) == syncs + 1, "only the copy is fsynced, never the poisoned file again")
        #expect(try SegmentReader(path: sealed.path).verify().isEmpty)
        #expect(try StreamFixture.values(sealed.path) == (0..<6).map(Int64.init))
        #expect(!FileManager.default.fileExists(atPath: dir + "/app.seg"))
    }

    @Test func aMoveNeverReplacesASealedSegmentOfTheSameName() throws {
        let dir = try Self.directory()
        _ = FileManager.default.createFile(atPath: dir + "/rotated/app.seg", contents: Data("older".utf8))
        let segment = try Self.create(dir)
        try segment.append(StreamFixture.block(first: 0, count: 2))
        try segment.writeFooter()
        #expect(throws: FileSystemError.self) { try segment.move(into: dir + "/rotated", as: "app.seg") }
        #expect(FileManager.default.contents(atPath: dir + "/rotated/app.seg") == Data("older".utf8))
        let (sealed, _) = try segment.move(into: dir + "/rotated", as: "app-2.seg")
        #expect(try StreamFixture.values(sealed.path) == [0, 1])
    }

    @Test func namesFollowStreamTimeNodeSequence() {
        let ns = RFC3339.parse("2026-11-25T05:04:03.5Z")!
        #expect(SegmentName.make(stream: "weblog", created: ns, node: "ip-10-0-0-1.ec2", sequence: 7)
                == "weblog-20261125T050403Z-ip-10-0-0-1.ec2-000007.seg".replacingOccurrences(of: "ip-10-0-0-1", with: "ip_10_0_0_1"))
        #expect(SegmentName.make(stream: "a", created: 0, node: "../x", sequence: 0) == "a-19700101T000000Z-.._x-000000.seg")
    }
}
