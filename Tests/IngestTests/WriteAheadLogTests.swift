import Foundation
import Testing
@testable import Ingest

struct WriteAheadLogTests {
    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString)").path
    }

    static func open(_ directory: String) throws -> (WriteAheadLog, [WriteAheadLog.Frame]) {
        let replayed = try WriteAheadLog.replay(directory: directory)
        let next = (replayed.frames.last?.sequence ?? 0) + 1
        return (try WriteAheadLog(directory: directory, nextSequence: next, replayed: replayed.generations, rollBytes: 200), replayed.frames)
    }

    static func texts(_ frames: [WriteAheadLog.Frame]) -> [String] {
        frames.map { String(decoding: $0.payload, as: UTF8.self) }
    }

    @Test func appendedBatchesReplayInOrderWithTheirNumbers() async throws {
        let directory = Self.temporaryDirectory()
        let (log, _) = try Self.open(directory)
        for i in 0..<5 {
            let sequence = try await log.append(Array("batch \(i)\n".utf8)) { _ in }
            #expect(sequence == UInt64(i + 1))
        }
        log.shutdown()
        let frames = try WriteAheadLog.replay(directory: directory).frames
        #expect(Self.texts(frames) == (0..<5).map { "batch \($0)\n" })
        #expect(frames.map(\.sequence) == [1, 2, 3, 4, 5])
    }

    @Test func concurrentAppendsShareFsyncsAndBecomeDurableInOrder() async throws {
        let directory = Self.temporaryDirectory()
        let (log, _) = try Self.open(directory)
        let order = Order()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { _ = try await log.append(Array(repeating: UInt8(i % 256), count: 100)) { order.add($0) } }
            }
            try await group.waitForAll()
        }
        #expect(log.commits < 200, "200 concurrent appends took \(log.commits) fsyncs")
        #expect(order.values == Array(1...200), "durable callbacks run in log order")
        log.shutdown()
        #expect(try WriteAheadLog.replay(directory: directory).frames.count == 200)
    }

    @Test func aTornTailIsCutAndAppendsContinueAfterIt() async throws {
        let directory = Self.temporaryDirectory()
        let (log, _) = try Self.open(directory)
        _ = try await log.append(Array("kept".utf8)) { _ in }
        _ = try await log.append(Array("torn".utf8)) { _ in }
        log.shutdown()
        let path = directory + "/0000000001.wal"
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        #expect(truncate(path, off_t(size - 2)) == 0)

        let (reopened, frames) = try Self.open(directory)
        #expect(Self.texts(frames) == ["kept"])
        _ = try await reopened.append(Array("after".utf8)) { _ in }
        reopened.shutdown()
        let all = try WriteAheadLog.replay(directory: directory).frames
        #expect(Self.texts(all) == ["kept", "after"])
        #expect(all.map(\.sequence) == [1, 2])
    }

    @Test func generationsRollAndAreReclaimedOnceInSegments() async throws {
        let directory = Self.temporaryDirectory()
        let (log, _) = try Self.open(directory)  // rolls past 200 bytes
        for _ in 0..<6 { _ = try await log.append(Array(repeating: 0x41, count: 150)) { _ in } }
        let files = { try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wal") }.sorted() }
        #expect(try files().count >= 3)
        log.reclaim(through: 3)
        let frames = try WriteAheadLog.replay(directory: directory).frames
        #expect(frames.first.map(\.sequence) ?? 0 > 1, "the generations holding only batches 1...3 are gone")
        #expect(frames.last?.sequence == 6)
        log.reclaim(through: 6)
        #expect(try files().count == 1, "the current generation stays")
        log.shutdown()
        log.removeAll()
        #expect(try files().isEmpty)
    }

    @Test func aMissingLogReplaysNothing() throws {
        #expect(try WriteAheadLog.replay(directory: Self.temporaryDirectory()).frames.isEmpty)
    }
}

/// Collects sequence numbers from the log thread.
final class Order: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [UInt64] = []
    func add(_ v: UInt64) { lock.withLock { list.append(v) } }
    var values: [UInt64] { lock.withLock { list } }
}
