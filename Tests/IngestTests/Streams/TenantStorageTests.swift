import Foundation
import NDJSON
import SegmentFormat
import Testing
@testable import Ingest

/// One write-ahead log per tenant (issue 13): the tenant's streams share its fsyncs, replay and
/// reclaim stay exact per stream, and the logs older builds kept per stream are replayed and
/// retired.
struct TenantStorageTests {
    @Test func theStreamsOfATenantShareOneLogAndItsFsyncs() async throws {
        let f = try StreamFixture(blockRows: 1000)
        let tenant = try await f.openTenant()
        let app = StreamFixture.Opened(store: try #require(await tenant.store("app")), tenant: tenant)
        let other = StreamFixture.Opened(store: try #require(await tenant.store("other")), tenant: tenant)
        let syncs = f.fileSystem.count(.fsync)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask { try await StreamFixture.post(i % 2 == 0 ? app : other, (i * 10)..<(i * 10 + 10)) }
            }
            try await group.waitForAll()
        }
        #expect(f.fileSystem.count(.fsync) - syncs < 40, "40 requests to two streams took \(f.fileSystem.count(.fsync) - syncs) fsyncs")
        #expect(FileManager.default.fileExists(atPath: f.wal), "one log in <tenant>/_wal")
        #expect(!FileManager.default.fileExists(atPath: f.directory + "/wal"), "no log of the stream's own")

        // A crash: both streams replay exactly their own batches from the shared log.
        let reopened = try await f.openTenant()
        _ = await reopened.store("app")
        #expect(await reopened.shutdown())
        #expect(try f.numbers().sorted() == Self.numbers(ofRequests: stride(from: 0, to: 40, by: 2)))
        #expect(try f.numbers(stream: "other").sorted() == Self.numbers(ofRequests: stride(from: 1, to: 40, by: 2)))
        #expect(try WriteAheadLogTests.frames(f.wal).isEmpty, "a clean stop leaves no batch in the log")
    }

    /// The numbers posted by requests `requests` of ten records each (request i: i*10 ..< i*10+10).
    static func numbers(ofRequests requests: StrideTo<Int>) -> [Int64] {
        var all: [Int64] = []
        for i in requests { all += (i * 10..<(i * 10 + 10)).map(Int64.init) }
        return all
    }

    @Test func aGenerationIsReclaimedOnlyOnceEveryStreamInItHasConfirmedIt() async throws {
        var f = try StreamFixture(blockRows: 10)
        f.options.walRollBytes = 200
        let tenant = try await f.openTenant()
        let app = StreamFixture.Opened(store: try #require(await tenant.store("app")), tenant: tenant)
        let other = StreamFixture.Opened(store: try #require(await tenant.store("other")), tenant: tenant)
        try await StreamFixture.post(other, 0..<3)  // stays in memory: less than a block
        for i in 0..<6 { try await StreamFixture.post(app, (i * 10)..<(i * 10 + 10)) }  // full blocks, checkpointed
        for _ in 0..<500 where try (f.checkpoint()?.sequence ?? 0) < 7 { try await Task.sleep(for: .milliseconds(10)) }
        app.store.tick(now: 0)
        try await Task.sleep(for: .milliseconds(200))
        let frames = try WriteAheadLogTests.frames(f.wal)
        #expect(frames.first?.0 == 1, "the generation holding other's unconfirmed batch 1 is kept")

        // A crash: other's batch comes back from the log, app's are not stored twice.
        let reopened = try await f.openTenant()
        #expect(await reopened.shutdown())
        #expect(try f.numbers() == (0..<60).map(Int64.init))
        #expect(try f.numbers(stream: "other") == [0, 1, 2])
    }

    /// Issue 13: logs of the earlier per-stream layout (`<stream>/wal`, frames without a stream)
    /// are replayed once, then removed; the stream's checkpoint moves to the tenant's numbers.
    @Test func aStreamsOwnLogFromAnOlderBuildIsReplayedThenRetired() async throws {
        let f = try StreamFixture(blockRows: 1000)
        try FileManager.default.createDirectory(atPath: f.directory + "/wal", withIntermediateDirectories: true)
        var file = LogFormat.encode(LogFormat.GenerationHeader(generation: 7, firstSequence: 40))
        var checkpoint = Checkpoint()
        checkpoint.tenantLog = false
        checkpoint.sequence = 39
        for (i, numbers) in [0..<3, 3..<5].enumerated() {
            let payload = StreamFixture.body(numbers).withUnsafeBytes { BatchPayload(acceptedAt: 0, records: numbers.count, idempotencyKey: "k\(i)", body: $0) }
            payload.bytes.withUnsafeBytes { file += LogFormat.frameHeader(sequence: UInt64(40 + i), payload: $0) }
            file += payload.bytes
        }
        try Data(file).write(to: URL(fileURLWithPath: f.directory + "/wal/" + LogFormat.fileName(7)))
        var v2 = checkpoint.encoded()
        v2.replaceSubrange(0..<5, with: Array("CKP2".utf8))  // the older build's layout: no log byte
        v2.removeLast(4)
        v2 += withUnsafeBytes(of: Checksum.crc32(v2).littleEndian, Array.init)
        try Data(v2).write(to: URL(fileURLWithPath: f.layout.checkpoint))

        let first = try await f.open()
        #expect(first.failure == nil)
        #expect(!FileManager.default.fileExists(atPath: f.directory + "/wal"), "the old log is gone once replayed")
        let moved = try #require(try f.checkpoint())
        #expect(moved.tenantLog && moved.sequence == 0)
        try await StreamFixture.post(first, 5..<7)

        let second = try await f.open()  // a crash after the move: the tenant's log replays 5 and 6 only
        #expect(await second.shutdown())
        #expect(try f.numbers() == (0..<7).map(Int64.init))
    }

    @Test func damageInTheTenantsLogRefusesEveryStreamOfTheTenant() async throws {
        var f = try StreamFixture(blockRows: 1000)
        f.options.walRollBytes = 300
        let first = try await f.open()
        for i in 0..<6 { try await StreamFixture.post(first, (i * 3)..<(i * 3 + 3)) }
        let generations = f.logFiles()
        let damaged = f.wal + "/" + generations[0]
        var bytes = try #require(FileManager.default.contents(atPath: damaged))
        bytes[bytes.count - 5] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: damaged))

        let tenant = try await f.openTenant()
        for stream in ["app", "other"] {
            let store = try #require(await tenant.store(stream))
            let refusal = try #require(store.failure as? StreamRefused, "\(stream) answers 503")
            #expect(refusal.reason.contains(generations[0]))
        }
        #expect(FileManager.default.contents(atPath: damaged) == bytes, "nothing is cut")
    }
}
