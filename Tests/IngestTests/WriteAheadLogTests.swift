import Foundation
import Testing
@testable import Ingest

struct WriteAheadLogTests {
    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString).log").path
    }

    @Test func appendedBatchesReplayInOrder() async throws {
        let path = Self.temporaryPath()
        defer { unlink(path) }
        let log = try WriteAheadLog(path: path)
        for i in 0..<5 { try await log.append(Array("batch \(i)\n".utf8)) }
        log.shutdown()
        let replayed = try WriteAheadLog.replay(path: path)
        #expect(replayed.map { String(decoding: $0, as: UTF8.self) } == (0..<5).map { "batch \($0)\n" })
    }

    @Test func concurrentAppendsShareFsyncs() async throws {
        let path = Self.temporaryPath()
        defer { unlink(path) }
        let log = try WriteAheadLog(path: path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask { try await log.append(Array(repeating: UInt8(i % 256), count: 100)) }
            }
            try await group.waitForAll()
        }
        #expect(log.commits < 200, "200 concurrent appends took \(log.commits) fsyncs")
        #expect(log.durableBytes == 200 * (100 + WriteAheadLog.frameHeaderSize))
        log.shutdown()
        #expect(try WriteAheadLog.replay(path: path).count == 200)
    }

    @Test func aTornTailIsCutAndAppendsContinueAfterIt() async throws {
        let path = Self.temporaryPath()
        defer { unlink(path) }
        let log = try WriteAheadLog(path: path)
        try await log.append(Array("kept".utf8))
        try await log.append(Array("torn".utf8))
        log.shutdown()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        #expect(truncate(path, off_t(size - 2)) == 0)

        #expect(try WriteAheadLog.replay(path: path) == [Array("kept".utf8)])
        let reopened = try WriteAheadLog(path: path)
        try await reopened.append(Array("after".utf8))
        reopened.shutdown()
        #expect(try WriteAheadLog.replay(path: path) == [Array("kept".utf8), Array("after".utf8)])
    }

    @Test func resetEmptiesTheLog() async throws {
        let path = Self.temporaryPath()
        defer { unlink(path) }
        let log = try WriteAheadLog(path: path)
        try await log.append(Array("x".utf8))
        try log.reset()
        try await log.append(Array("y".utf8))
        log.shutdown()
        #expect(try WriteAheadLog.replay(path: path) == [Array("y".utf8)])
    }

    @Test func aMissingLogReplaysNothing() throws {
        #expect(try WriteAheadLog.replay(path: Self.temporaryPath()).isEmpty)
    }
}
