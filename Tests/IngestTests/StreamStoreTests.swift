import Foundation
import Logging
import NDJSON
import SegmentFormat
import Testing
@testable import Ingest

/// Crash recovery of a stream store: the checkpoint decides what the segment keeps and what the
/// log replays, so nothing acknowledged is lost and nothing is stored twice.
struct StreamStoreTests {
    static func open(_ dir: String) throws -> StreamStore {
        let logger = Logger(label: "test")
        let hooks = try HookRunner(hooksDirectory: nil, journalDirectory: dir + "/.hooks", timeout: 5, logger: logger)
        let keys = try IdempotencyStore(path: dir + "/keys")
        var options = StreamOptions(node: "test")
        options.blockRows = 10
        return try StreamStore(directory: dir + "/t/app", tenant: "t", stream: "app", schema: ActiveSegmentTests.schema,
                               options: options, idempotency: keys, hooks: hooks, logger: logger)
    }

    static func post(_ store: StreamStore, _ numbers: Range<Int>) async throws {
        let body = numbers.map { #"{"ts":"2024-05-01T00:00:00Z","n":\#($0)}"# + "\n" }.joined()
        let batch = try Array(body.utf8).withUnsafeBytes { raw throws(RecordError) in try store.prepare(raw, idempotencyKey: nil, now: 0) }
        try await store.commit(batch)
    }

    /// Waits until the checkpoint covers `sequence`.
    static func waitForCheckpoint(_ dir: String, _ sequence: UInt64) async throws {
        for _ in 0..<400 {
            if try Checkpoint.load(path: dir + "/t/app/checkpoint").sequence >= sequence { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the checkpoint never reached \(sequence)")
    }

    static func numbers(_ dir: String) throws -> [Int64] {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/t/app/rotated").sorted()
        return try files.flatMap { try ActiveSegmentTests.values(dir + "/t/app/rotated/" + $0) }
    }

    @Test func aBlockPastTheCheckpointIsCutAndTheLogReplaysItOnce() async throws {
        let dir = try ActiveSegmentTests.directory()
        let first = try Self.open(dir)
        try await Self.post(first, 0..<10)  // a full block: flushed and checkpointed
        try await Self.waitForCheckpoint(dir, 1)
        try await Self.post(first, 10..<14)  // durable in the log only
        // The process dies here. Before it did, it appended a block of 10..<14 to the segment
        // without reaching the checkpoint: the recovery must cut that block, not keep it.
        let active = try #require(try FileManager.default.contentsOfDirectory(atPath: dir + "/t/app/active").first)
        let handle = try #require(FileHandle(forWritingAtPath: dir + "/t/app/active/" + active))
        handle.seekToEndOfFile()
        handle.write(Data(try ActiveSegmentTests.block(first: 10, count: 4).bytes))
        handle.closeFile()

        let second = try Self.open(dir)
        try await Self.post(second, 14..<16)
        second.shutdown()
        #expect(try Self.numbers(dir) == (0..<16).map(Int64.init))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/t/app/wal").isEmpty, "a clean stop leaves no log")
    }

    @Test func anUnconfirmedNewSegmentIsRemovedAndItsRecordsReplayed() async throws {
        let dir = try ActiveSegmentTests.directory()
        let first = try Self.open(dir)
        try await Self.post(first, 0..<3)
        // Dies before any block: a new segment that no checkpoint names holds nothing confirmed.
        let header = SegmentHeader(schema: ActiveSegmentTests.schema, created: 0)
        let stray = try ActiveSegment(creating: dir + "/t/app/active/app-stray.seg", header: header)
        try stray.append(ActiveSegmentTests.block(first: 0, count: 3))

        let second = try Self.open(dir)
        second.shutdown()
        #expect(try Self.numbers(dir) == [0, 1, 2])
    }
}
