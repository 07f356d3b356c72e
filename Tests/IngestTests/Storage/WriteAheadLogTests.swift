import Foundation
import Testing
@testable import Ingest

/// The write-ahead log: group commit, numbering, generations, and what a failed write or fsync
/// leaves behind.
struct WriteAheadLogTests {
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func open(_ directory: String, _ fs: any FileSystem = PosixFileSystem(), rollBytes: Int = 200) throws -> WriteAheadLog {
        try WriteAheadLog(directory: directory, fileSystem: fs, nextSequence: 1, nextGeneration: 1, generations: [],
                          rollBytes: rollBytes, label: "test")
    }

    /// Every sound frame of every generation, in order: sequence and text.
    static func frames(_ directory: String) throws -> [(UInt64, String)] {
        var all: [(UInt64, String)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() {
            guard let number = LogFormat.generation(ofFile: name) else { continue }
            _ = try LogScanner.scan(directory + "/" + name, number: number, limit: nil, fileSystem: PosixFileSystem()) { location, payload in
                all.append((location.sequence, String(decoding: payload, as: UTF8.self)))
            }
        }
        return all
    }

    @Test func appendedBatchesReplayInOrderWithTheirNumbers() async throws {
        let directory = try Self.temporaryDirectory()
        let log = try Self.open(directory)
        for i in 0..<5 {
            let sequence = try await log.append(Array("batch \(i)\n".utf8), stream: "s") { _ in }
            #expect(sequence == UInt64(i + 1))
        }
        let frames = try Self.frames(directory)
        #expect(frames.map(\.1) == (0..<5).map { "batch \($0)\n" })
        #expect(frames.map(\.0) == [1, 2, 3, 4, 5])
    }

    @Test func concurrentAppendsShareFsyncsAndBecomeDurableInOrder() async throws {
        let directory = try Self.temporaryDirectory()
        let log = try Self.open(directory, rollBytes: 1 << 20)
        let order = Order()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { _ = try await log.append(Array(repeating: UInt8(i % 256), count: 100), stream: "s") { order.add($0) } }
            }
            try await group.waitForAll()
        }
        #expect(log.commits < 200, "200 concurrent appends took \(log.commits) fsyncs")
        #expect(order.values == Array(1...200), "durable callbacks run in log order")
        #expect(try Self.frames(directory).count == 200)
    }

    @Test func generationsRollAndAreReclaimedOnceInSegments() async throws {
        let directory = try Self.temporaryDirectory()
        let log = try Self.open(directory)  // rolls past 200 bytes
        for _ in 0..<6 { _ = try await log.append(Array(repeating: 0x41, count: 150), stream: "s") { _ in } }
        let files = { try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wal") }.sorted() }
        #expect(try files().count >= 3)
        await log.confirm(stream: "s", through: 3)
        let frames = try Self.frames(directory)
        #expect(frames.first.map(\.0) ?? 0 > 1, "the generations holding only batches 1...3 are gone")
        #expect(frames.last?.0 == 6)
        await log.close()
        await log.confirm(stream: "s", through: 6)
        #expect(try await log.finish())
        #expect(try files().count == 1, "one empty generation carries the numbering on")
        #expect(try Self.frames(directory).isEmpty)
    }

    @Test(arguments: [ENOSPC, EIO])
    func aFailedWriteFailsItsRoundOnlyAndTheFileEndsOnAFrame(code: Int32) async throws {
        let directory = try Self.temporaryDirectory()
        let fs = FaultyFileSystem()
        let log = try Self.open(directory, fs, rollBytes: 1 << 20)
        _ = try await log.append(Array("kept".utf8), stream: "s") { _ in }
        fs.shortWrite(path: ".wal", bytes: 7)
        fs.fail(.write, path: ".wal", code: code)
        await #expect(throws: WriteAheadLog.Failure.self) { try await log.append(Array("refused".utf8), stream: "s") { _ in } }
        _ = try await log.append(Array("after".utf8), stream: "s") { _ in }
        #expect(try Self.frames(directory).map(\.1) == ["kept", "after"])
    }

    /// Found by `tools/crash-test --faults`: a payload write that failed after its frame header
    /// was written left the header in the file, and the next round's frames followed it.
    @Test func aRoundThatFailsAfterAFrameHeaderLeavesNothingOfItBehind() async throws {
        let directory = try Self.temporaryDirectory()
        let fs = FaultyFileSystem()
        let log = try Self.open(directory, fs, rollBytes: 1 << 20)
        _ = try await log.append(Array("kept".utf8), stream: "s") { _ in }
        fs.fail(.write, path: ".wal", code: ENOSPC, skip: 1)
        await #expect(throws: WriteAheadLog.Failure.self) { try await log.append(Array("refused".utf8), stream: "s") { _ in } }
        _ = try await log.append(Array("after".utf8), stream: "s") { _ in }
        let scanned = try LogScanner.scan(directory + "/0000000001.wal", number: 1, limit: nil, fileSystem: PosixFileSystem()) { _, _ in }
        #expect(scanned.damage == nil && scanned.frameCount == 2)
    }

    @Test func aGenerationWhoseSetupFailedIsTriedAgain() async throws {
        let directory = try Self.temporaryDirectory()
        let fs = FaultyFileSystem()
        let log = try Self.open(directory, fs, rollBytes: 100)
        _ = try await log.append(Array(repeating: 0x41, count: 100), stream: "s") { _ in }
        fs.fail(.fsync, path: "0000000002.wal")
        await #expect(throws: WriteAheadLog.Failure.self) { try await log.append(Array("next".utf8), stream: "s") { _ in } }
        _ = try await log.append(Array("after".utf8), stream: "s") { _ in }
        #expect(try Self.frames(directory).map(\.1).suffix(1) == ["after"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["0000000001.wal", "0000000002.wal"])
    }

    /// Issue 10: "When the WAL's cleanup after a failed write fails too, fail the whole queue".
    @Test func aFailedCleanupAfterAFailedWriteStartsANewGenerationThatMarksTheGarbage() async throws {
        let directory = try Self.temporaryDirectory()
        let fs = FaultyFileSystem()
        let log = try Self.open(directory, fs, rollBytes: 1 << 20)
        _ = try await log.append(Array("kept".utf8), stream: "s") { _ in }
        fs.shortWrite(path: ".wal", bytes: 7)
        fs.fail(.write, path: ".wal", code: ENOSPC)
        fs.fail(.truncate, path: ".wal")
        await #expect(throws: WriteAheadLog.Failure.self) { try await log.append(Array("refused".utf8), stream: "s") { _ in } }
        _ = try await log.append(Array("after".utf8), stream: "s") { _ in }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names == ["0000000001.wal", "0000000002.wal"], "the poisoned generation is left for a new one")
        let header = try LogScanner.header(directory + "/0000000002.wal", number: 2, fileSystem: PosixFileSystem())
        let first = try LogScanner.scan(directory + "/0000000001.wal", number: 1, limit: header?.previousEnd, fileSystem: PosixFileSystem()) { _, _ in }
        #expect(first.frameCount == 1 && first.damage == nil, "the new header says where the acknowledged frames end")
        #expect(first.fileSize > first.validEnd, "the garbage is still there, marked")
    }

    @Test func aFailedFsyncPoisonsTheGenerationAndLaterBatchesGoToANewOne() async throws {
        let directory = try Self.temporaryDirectory()
        let fs = FaultyFileSystem()
        let log = try Self.open(directory, fs, rollBytes: 1 << 20)
        _ = try await log.append(Array("kept".utf8), stream: "s") { _ in }
        fs.fail(.fsync, path: "0000000001.wal")
        await #expect(throws: WriteAheadLog.Failure.self) { try await log.append(Array("not durable".utf8), stream: "s") { _ in } }
        let syncs = fs.count(.fsync)
        _ = try await log.append(Array("after".utf8), stream: "s") { _ in }
        #expect(fs.fired.filter { $0.contains("0000000001") }.count == 1)
        #expect(fs.count(.fsync) > syncs)
        let header = try #require(try LogScanner.header(directory + "/0000000002.wal", number: 2, fileSystem: PosixFileSystem()))
        let first = try LogScanner.scan(directory + "/0000000001.wal", number: 1, limit: header.previousEnd, fileSystem: PosixFileSystem()) { _, _ in }
        #expect(first.frameCount == 1, "the frame whose fsync failed is past the recorded end: never replayed")
    }
}

/// Collects sequence numbers from the log's executor.
final class Order: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [UInt64] = []
    func add(_ v: UInt64) { lock.withLock { list.append(v) } }
    var values: [UInt64] { lock.withLock { list } }
}
