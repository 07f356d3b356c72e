import Foundation
import NDJSON
import SegmentFormat
import Testing
@testable import Ingest

/// A stream store end to end, through crashes (a store dropped without shutdown, then opened
/// again) and injected file-system faults on every durable path. Each test checks the same three
/// things: no acknowledged record is lost, none is stored twice, and a failure reached the client
/// (the commit threw: segd answers 503) or recovery refused loudly.
struct StreamStoreTests {
    // MARK: Crashes

    @Test func aBlockPastTheCheckpointIsCutAndTheLogReplaysItOnce() async throws {
        let f = try StreamFixture()
        let first = try await f.open()
        try await StreamFixture.post(first, 0..<10)  // a full block: flushed and checkpointed
        try await f.waitForCheckpoint(1)
        try await StreamFixture.post(first, 10..<14)  // durable in the log only
        // The process dies here. Before it did, it appended a block of 10..<14 to the segment
        // without reaching the checkpoint: the recovery must cut that block, not keep it.
        let active = try #require(f.files("active").first)
        let handle = try #require(FileHandle(forWritingAtPath: f.directory + "/active/" + active))
        handle.seekToEndOfFile()
        handle.write(Data(try StreamFixture.block(first: 10, count: 4).bytes))
        handle.closeFile()

        let second = try await f.open()
        try await StreamFixture.post(second, 14..<16)
        #expect(await second.shutdown())
        #expect(try f.numbers() == (0..<16).map(Int64.init))
        #expect(try WriteAheadLogTests.frames(f.wal).isEmpty, "a clean stop leaves no batch in the log")
    }

    @Test func anUnconfirmedNewSegmentIsRemovedAndItsRecordsReplayed() async throws {
        let f = try StreamFixture()
        let first = try await f.open()
        try await StreamFixture.post(first, 0..<3)
        // Dies before any block: a new segment that no checkpoint names holds nothing confirmed.
        let stray = try ActiveSegment.create("app-stray.seg", in: f.layout.active, header: SegmentHeader(schema: StreamFixture.schema, created: 0),
                                             fileSystem: PosixFileSystem())
        try stray.append(StreamFixture.block(first: 0, count: 3))

        let second = try await f.open()
        #expect(await second.shutdown())
        #expect(try f.numbers() == [0, 1, 2])
    }

    /// Issue 10: a request larger than a block was written as one block, past the format's limits.
    @Test func aRequestLargerThanABlockIsSplitAcrossBlocksAndACrashBetweenThemStoresItOnce() async throws {
        let f = try StreamFixture(blockRows: 10)
        let first = try await f.open()
        try await StreamFixture.post(first, 0..<25)  // blocks of 10 and 10; 5 rows wait for more
        for _ in 0..<500 where try (f.checkpoint()?.partialRows ?? 0) < 20 { try await Task.sleep(for: .milliseconds(10)) }
        let checkpoint = try #require(try f.checkpoint())
        #expect(checkpoint.sequence == 0 && checkpoint.partialSequence == 1 && checkpoint.partialRows == 20)
        let segment = try SegmentReader(path: f.directory + "/active/" + checkpoint.segment)
        #expect(segment.blocks.map(\.rowCount) == [10, 10])

        let second = try await f.open()  // the crash: the log replays batch 1 without its first 20 rows
        #expect(await second.shutdown())
        #expect(try f.numbers() == (0..<25).map(Int64.init))
    }

    /// Issue 14: a segment an older segd began (format version 1) is sealed as it is on restart,
    /// and new blocks (version 2) go into a new segment; before, they were appended to it.
    @Test func anActiveSegmentOfAnOlderFormatVersionIsSealedAndANewOneBegun() async throws {
        var f = try StreamFixture()
        f.options.formatVersion = 1
        let first = try await f.open()
        try await StreamFixture.post(first, 0..<10)  // a full block, in a version 1 segment
        try await f.waitForCheckpoint(1)
        f.options.formatVersion = 2  // the upgrade, after a crash
        let second = try await f.open()
        try await StreamFixture.post(second, 10..<20)
        #expect(await second.shutdown())
        #expect(try f.numbers() == (0..<20).map(Int64.init))
        let versions = try f.files("rotated").map { try SegmentReader(path: f.directory + "/rotated/" + $0).header.version }.sorted()
        #expect(versions == [1, 2])
    }

    // MARK: Faults on the log

    @Test func aFailedLogFsyncRefusesTheRequestAndNothingOfItIsStored() async throws {
        let f = try StreamFixture()
        let store = try await f.open()
        try await StreamFixture.post(store, 0..<3)
        f.fileSystem.fail(.fsync, path: ".wal")
        await #expect(throws: WriteAheadLog.Failure.self) { try await StreamFixture.post(store, 100..<103) }
        try await StreamFixture.post(store, 3..<6)
        let reopened = try await f.open()  // crash, then replay
        #expect(await reopened.shutdown())
        #expect(try f.numbers() == (0..<6).map(Int64.init))
    }

    @Test(arguments: [ENOSPC, EIO])
    func aFailedLogWriteRefusesTheRequestAndTheLogContinues(code: Int32) async throws {
        let f = try StreamFixture()
        let store = try await f.open()
        f.fileSystem.shortWrite(path: ".wal", bytes: 5)
        f.fileSystem.fail(.write, path: ".wal", code: code)
        await #expect(throws: WriteAheadLog.Failure.self) { try await StreamFixture.post(store, 100..<103) }
        try await StreamFixture.post(store, 0..<3)
        let reopened = try await f.open()
        #expect(await reopened.shutdown())
        #expect(try f.numbers() == [0, 1, 2])
    }

    // MARK: Faults on segments and checkpoints

    /// Issue 10: a failed directory fsync after the checkpoint's rename cut the block the new
    /// checkpoint covered, so a crash then skipped its records.
    @Test func aFailedDirectoryFsyncAfterTheCheckpointRenameNeverUndoesTheBlock() async throws {
        let f = try StreamFixture()
        let store = try await f.open()
        f.fileSystem.fail(.syncDirectory, path: "/t/app", suffix: true)
        try await StreamFixture.post(store, 0..<10)
        try await f.waitForCheckpoint(1)
        let checkpoint = try #require(try f.checkpoint())
        #expect(try SegmentReader(path: f.directory + "/active/" + checkpoint.segment).blocks.count == 1, "the block stays")
        let reopened = try await f.open()  // crash with the new checkpoint visible
        #expect(await reopened.shutdown())
        #expect(try f.numbers() == (0..<10).map(Int64.init))
    }

    /// Issue 10: when the checkpoint could not be written, the block was undone with `try?`; a
    /// failed undo left it in place and the block was written twice.
    @Test(arguments: [FileSystemError.Operation.rename, .fsync, .write])
    func aCheckpointThatCannotBeWrittenNeverStoresTheBlockTwice(operation: FileSystemError.Operation) async throws {
        let f = try StreamFixture()
        let store = try await f.open()
        f.fileSystem.fail(operation, path: "checkpoint")
        f.fileSystem.fail(.truncate, path: ".seg")
        try await StreamFixture.post(store, 0..<10)
        try await StreamFixture.post(store, 10..<20)
        try await f.waitForCheckpoint(2)
        #expect(await store.shutdown())
        #expect(try f.numbers() == (0..<20).map(Int64.init))
    }

    @Test(arguments: [ENOSPC, EIO])
    func aSegmentThatCannotBeWrittenAnswers503UntilTheDiskRecovers(code: Int32) async throws {
        let f = try StreamFixture()
        let store = try await f.open()
        f.fileSystem.fail(.write, path: ".seg", code: code, times: 3)
        try await StreamFixture.post(store, 0..<10)
        for _ in 0..<500 where store.failure == nil { try await Task.sleep(for: .milliseconds(10)) }
        #expect(store.failure != nil, "segd answers 503 'storage' while blocks cannot be written")
        try await StreamFixture.post(store, 10..<12)  // still durable in the log
        f.fileSystem.heal()
        #expect(await store.shutdown())
        #expect(store.failure == nil)
        #expect(try f.numbers() == (0..<12).map(Int64.init))
    }

    @Test func aSegmentPoisonedByAFailedFsyncIsSealedFromACopyAndNothingIsLost() async throws {
        let f = try StreamFixture()
        let store = try await f.open()
        try await StreamFixture.post(store, 0..<10)
        try await f.waitForCheckpoint(1)
        f.fileSystem.fail(.fsync, path: ".seg")
        try await StreamFixture.post(store, 10..<20)  // the block's fsync fails: the segment is poisoned
        for _ in 0..<500 where store.failure == nil { try await Task.sleep(for: .milliseconds(10)) }
        #expect(await store.shutdown())
        #expect(try f.numbers() == (0..<20).map(Int64.init))
        #expect(f.files("active").isEmpty)
    }

    /// Issue 10: a failure after the segment's file was closed wedged sealing with EBADF.
    @Test(arguments: [FileSystemError.Operation.rename, .syncDirectory])
    func aSealThatFailsIsRetriedFromWhereItStopped(operation: FileSystemError.Operation) async throws {
        let f = try StreamFixture()
        let store = try await f.open()
        try await StreamFixture.post(store, 0..<10)
        try await f.waitForCheckpoint(1)
        f.fileSystem.fail(operation, path: "rotated")
        #expect(await store.shutdown() == (operation == .syncDirectory), "a failed rename leaves the segment active")
        if operation == .rename {
            #expect(await store.shutdown(), "the retry moves the segment with its durable footer")
        }
        #expect(try f.numbers(in: ["rotated"]) == (0..<10).map(Int64.init))
        #expect(f.files("active").isEmpty)
    }

    /// Issue 10: a sealed name could overwrite another sealed segment.
    @Test func aSealedSegmentNeverOverwritesAnotherOfTheSameName() async throws {
        let f = try StreamFixture()
        let store = try await f.open()
        try await StreamFixture.post(store, 0..<10)
        try await f.waitForCheckpoint(1)
        let name = try #require(f.files("active").first)
        _ = FileManager.default.createFile(atPath: f.layout.rotated + "/" + name, contents: Data("another segment".utf8))
        #expect(await store.shutdown())
        #expect(FileManager.default.contents(atPath: f.layout.rotated + "/" + name) == Data("another segment".utf8))
        #expect(try f.files("rotated").filter { $0 != name }.flatMap { try StreamFixture.values(f.layout.rotated + "/" + $0) } == (0..<10).map(Int64.init))
    }

    // MARK: Recovery that refuses

    /// Issue 10: every frame after the first bad one was dropped, silently, in every generation.
    @Test func damageInAnOlderGenerationRefusesTheStreamAndLeavesTheFilesAlone() async throws {
        var f = try StreamFixture(blockRows: 1000)
        f.options.walRollBytes = 300
        let first = try await f.open()
        for i in 0..<6 { try await StreamFixture.post(first, (i * 3)..<(i * 3 + 3)) }
        let generations = f.logFiles()
        #expect(generations.count >= 3)
        let damaged = f.wal + "/" + generations[0]
        var bytes = try #require(FileManager.default.contents(atPath: damaged))
        bytes[bytes.count - 5] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: damaged))

        let second = try await f.open()
        let refusal = try #require(second.failure as? StreamRefused, "the stream answers 503")
        #expect(refusal.reason.contains(generations[0]) && refusal.reason.contains("offset"))
        await #expect(throws: StreamRefused.self) { try await StreamFixture.post(second, 100..<101) }
        #expect(FileManager.default.contents(atPath: damaged) == bytes, "nothing is cut")
        #expect(f.logFiles() == generations)

        let other = try StreamFixture()
        let healthy = try await other.open()
        try await StreamFixture.post(healthy, 0..<1)
        #expect(healthy.failure == nil, "other streams keep running")
    }

    @Test func aTornTailOfTheNewestGenerationIsCutAndEverythingBeforeItReplayed() async throws {
        let f = try StreamFixture(blockRows: 1000)
        let first = try await f.open()
        try await StreamFixture.post(first, 0..<3)
        try await StreamFixture.post(first, 3..<6)
        let newest = f.wal + "/" + (f.logFiles().last ?? "")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: newest)[.size] as? Int)
        #expect(truncate(newest, off_t(size - 7)) == 0)  // the crash tore the last frame

        let second = try await f.open()
        #expect(second.failure == nil)
        #expect(await second.shutdown())
        #expect(try f.numbers() == [0, 1, 2])
    }

    /// Issue 10: recovery cut the active segment below the checkpoint's confirmed size.
    @Test func anActiveSegmentShorterThanItsCheckpointIsQuarantinedNotCut() async throws {
        let f = try StreamFixture()
        let first = try await f.open()
        try await StreamFixture.post(first, 0..<10)
        try await StreamFixture.post(first, 10..<20)
        try await f.waitForCheckpoint(2)
        let checkpoint = try #require(try f.checkpoint())
        let path = f.directory + "/active/" + checkpoint.segment
        #expect(truncate(path, off_t(checkpoint.segmentBytes - 3)) == 0)

        let second = try await f.open()
        #expect(second.failure == nil)
        let quarantined = f.directory + "/quarantine/" + checkpoint.segment
        #expect((try FileManager.default.attributesOfItem(atPath: quarantined)[.size] as? Int) == checkpoint.segmentBytes - 3)
        #expect(FileManager.default.fileExists(atPath: quarantined + ".txt"))
        try await StreamFixture.post(second, 20..<21)
        #expect(await second.shutdown())
    }

    /// Issue 10: errors are not absences.
    @Test(arguments: [FileSystemError.Operation.read, .list])
    func anUnreadableCheckpointOrLogRefusesInsteadOfLookingEmpty(operation: FileSystemError.Operation) async throws {
        let f = try StreamFixture()
        let first = try await f.open()
        try await StreamFixture.post(first, 0..<10)
        try await f.waitForCheckpoint(1)
        f.fileSystem.fail(operation, path: operation == .read ? "checkpoint" : "/_wal", code: EIO, times: .max)
        let second = try await f.open()
        #expect(second.failure is StreamRefused)
        f.fileSystem.heal()
        let third = try await f.open()
        #expect(third.failure == nil)
        #expect(await third.shutdown())
        #expect(try f.numbers() == (0..<10).map(Int64.init))
    }

    /// Issue 10: unknown payload versions were dropped.
    @Test func aBatchOfAnUnknownLayoutIsKeptAsLoggedNotDropped() async throws {
        let f = try StreamFixture()
        let first = try await f.open()
        try await StreamFixture.post(first, 0..<2)
        // A newer build logged this batch, then was rolled back.
        let log = try WriteAheadLog(directory: f.wal, fileSystem: PosixFileSystem(), nextSequence: 50, nextGeneration: 90,
                                    generations: [], rollBytes: 1 << 20, label: "newer")
        let future: [UInt8] = [9] + Array("a layout from the future".utf8)
        _ = try await log.append(future, stream: "app") { _ in }

        let second = try await f.open()
        #expect(second.failure == nil)
        #expect(await second.shutdown())
        #expect(FileManager.default.contents(atPath: f.layout.unreplayable + "/50.batch") == Data(future))
        #expect(try f.numbers() == [0, 1], "\(f.files("rotated")) \(f.files("active")) \(f.logFiles())")
    }

    /// Issue 10: sequence and generation numbers repeated after a clean stop.
    @Test func numbersNeverRepeatAcrossRestarts() async throws {
        let f = try StreamFixture(blockRows: 1000)
        let first = try await f.open()
        try await StreamFixture.post(first, 0..<2)
        try await StreamFixture.post(first, 2..<4)
        #expect(await first.shutdown())
        let before = try #require(try f.checkpoint())
        let generationsBefore = f.logFiles()

        let second = try await f.open()
        try await StreamFixture.post(second, 4..<6)
        #expect(await second.shutdown())
        let after = try #require(try f.checkpoint())
        #expect(after.sequence > before.sequence, "\(after.sequence) after \(before.sequence)")
        #expect(f.logFiles().allSatisfy { !generationsBefore.contains($0) })
        #expect(try f.numbers() == (0..<6).map(Int64.init))
    }

    /// Replay writes blocks as they fill instead of buffering the whole log.
    @Test func aLogLargerThanTheBufferBoundIsReplayedBlockByBlock() async throws {
        var f = try StreamFixture(blockRows: 100_000)
        let first = try await f.open()
        for i in 0..<40 { try await StreamFixture.post(first, (i * 10)..<(i * 10 + 10)) }
        f.options.blockRows = 10
        f.options.maxBufferedBytes = 2_000
        let second = try await f.open()
        #expect(second.failure == nil)
        #expect(await second.shutdown())
        #expect(try f.numbers() == (0..<400).map(Int64.init))
    }
}

