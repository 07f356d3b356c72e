import Foundation
@testable import Ingest
import SegmentFormat
import Testing

@Suite struct IdempotencyStoreTests {
    let dir: String = {
        let d = NSTemporaryDirectory() + "keys-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    final class Clock: @unchecked Sendable {
        var now: Int64 = 1_000_000_000_000
    }

    let first = [UInt8](repeating: 1, count: 32)
    let second = [UInt8](repeating: 2, count: 32)

    func store(_ clock: Clock, ttl: Int64 = 10_000_000_000) throws -> IdempotencyStore {
        try IdempotencyStore(path: dir + "/_idempotency", retentionNanoseconds: ttl, clock: { clock.now })
    }

    @Test func aKeyIsBoundToItsFingerprintAcrossRestarts() throws {
        let clock = Clock()
        let keys = try store(clock)
        #expect(keys.claim("k", fingerprint: first, now: clock.now) == .claimed)
        keys.record("k", .init(stream: "s", records: 3, acceptedAt: clock.now))
        try keys.sync()
        let again = try store(clock)
        guard case let .answered(answer) = again.claim("k", fingerprint: second, now: clock.now) else {
            Issue.record("the key was forgotten")
            return
        }
        #expect(answer.fingerprint == first && answer.records == 3 && answer.stream == "s")
    }

    @Test func expiredKeysLeaveMemoryAndTheFileIsCompacted() throws {
        let clock = Clock()
        let keys = try store(clock, ttl: 1_000)
        for i in 0..<100 {
            _ = keys.claim("k\(i)", fingerprint: first, now: clock.now)
            keys.record("k\(i)", .init(stream: "s", records: 1, acceptedAt: clock.now))
        }
        try keys.sync()
        #expect(try FileManager.default.attributesOfItem(atPath: keys.path)[.size] as? Int ?? 0 > 0)
        clock.now += 2_000
        keys.expire(now: clock.now)
        #expect(keys.count == 0)
        try keys.sync()
        #expect(try FileManager.default.attributesOfItem(atPath: keys.path)[.size] as? Int == 0)
    }

    @Test func aTornLastLineIsIgnoredAndAppendsStartOnALineOfTheirOwn() throws {
        let clock = Clock()
        let path = dir + "/_idempotency"
        try Data("\(clock.now)\t1\ts\t-\tgood\n\(clock.now)\t1\ts\t-\ttorn".utf8).write(to: URL(fileURLWithPath: path))
        let keys = try store(clock)
        #expect(keys.count == 1)
        _ = keys.claim("next", fingerprint: first, now: clock.now)
        keys.record("next", .init(stream: "s", records: 2, acceptedAt: clock.now))
        try keys.sync()
        let again = try store(clock)
        #expect(again.count == 2)
        #expect(again.claim("torn", fingerprint: first, now: clock.now) == .claimed)
    }

    // MARK: Faults (the key file on `DurableFile`): each key survives a reload exactly once.

    func faulty(_ clock: Clock, _ fileSystem: FaultyFileSystem) throws -> IdempotencyStore {
        try IdempotencyStore(path: dir + "/_idempotency", retentionNanoseconds: 10_000_000_000, fileSystem: fileSystem, clock: { clock.now })
    }

    /// Records `key` and returns the key file's lines naming it after a reload from disk.
    func linesNaming(_ key: String) throws -> Int {
        let text = try String(contentsOfFile: dir + "/_idempotency", encoding: .utf8)
        return text.split(separator: "\n").filter { $0.hasSuffix("\t" + key) }.count
    }

    /// Key "a" durable, then key "b" recorded and its sync failed by `operation` with `code`.
    func keysAfterAFailedSync(_ operation: FileSystemError.Operation, code: Int32) throws -> (Clock, FaultyFileSystem, IdempotencyStore) {
        let clock = Clock()
        let fileSystem = FaultyFileSystem()
        let keys = try faulty(clock, fileSystem)
        keys.record("a", .init(stream: "s", records: 1, acceptedAt: clock.now))
        try keys.sync()
        fileSystem.fail(operation, path: "_idempotency", suffix: true, code: code)
        keys.record("b", .init(stream: "s", records: 2, acceptedAt: clock.now))
        #expect(throws: FileSystemError.self) { try keys.sync() }
        return (clock, fileSystem, keys)
    }

    @Test(arguments: [EIO, ENOSPC])
    func aFailedKeyFileFsyncIsNeverTrustedAgainTheFileIsRewritten(code: Int32) throws {
        let (clock, fileSystem, keys) = try keysAfterAFailedSync(.fsync, code: code)
        let renames = fileSystem.count(.rename)
        try keys.sync()
        #expect(fileSystem.count(.rename) == renames + 1, "after a failed fsync the file is replaced from memory, never fsynced again")
        let again = try faulty(clock, FaultyFileSystem())
        #expect(again.count == 2)
        #expect(try linesNaming("a") == 1 && linesNaming("b") == 1, "no key stored twice")
    }

    @Test func aFailedOrShortKeyFileWriteLosesNoKeyAndStoresNoneTwice() throws {
        let (clock, fileSystem, keys) = try keysAfterAFailedSync(.write, code: ENOSPC)
        fileSystem.shortWrite(path: "_idempotency", bytes: 3)
        keys.record("c", .init(stream: "s", records: 3, acceptedAt: clock.now))
        try keys.sync()
        let again = try faulty(clock, FaultyFileSystem())
        #expect(again.count == 3)
        #expect(try linesNaming("a") == 1 && linesNaming("b") == 1 && linesNaming("c") == 1)
    }

    @Test func aRewriteWhoseDirectoryFsyncFailedIsNotCountedDurable() throws {
        let clock = Clock()
        let fileSystem = FaultyFileSystem()
        let keys = try faulty(clock, fileSystem)
        keys.record("a", .init(stream: "s", records: 1, acceptedAt: clock.now))
        fileSystem.fail(.fsync, path: "_idempotency", suffix: true)
        #expect(throws: FileSystemError.self) { try keys.sync() }
        // The rewrite's rename happens, then its directory fsync fails: durability unknown.
        fileSystem.fail(.syncDirectory, path: dir)
        #expect(throws: FileSystemError.self) { try keys.sync() }
        let renames = fileSystem.count(.rename)
        try keys.sync()
        #expect(fileSystem.count(.rename) == renames + 1, "a replace of unknown durability is done again")
        #expect(try faulty(clock, FaultyFileSystem()).count == 1)
        #expect(try linesNaming("a") == 1)
    }

    @Test func aKeyFileThatCannotBeReadIsAnErrorNotAnEmptyFile() throws {
        try FileManager.default.createDirectory(atPath: dir + "/_idempotency", withIntermediateDirectories: true)
        #expect(throws: FileSystemError.self) { try store(Clock()) }
    }

    @Test func requestsDoNotWaitForAnotherStreamsSync() async throws {
        let clock = Clock()
        let keys = try store(clock)
        for i in 0..<50_000 {
            keys.record("key-\(i)-" + String(repeating: "x", count: 200), .init(stream: "s", records: 1, acceptedAt: clock.now))
        }
        // A large sync runs on another thread; claims meanwhile never block on its I/O.
        let syncing = Task.detached { try keys.sync() }
        var slowest: UInt64 = 0
        for i in 0..<200 {
            let started = DispatchTime.now().uptimeNanoseconds
            _ = keys.claim("claim-\(i)", fingerprint: first, now: clock.now)
            slowest = max(slowest, DispatchTime.now().uptimeNanoseconds - started)
        }
        try await syncing.value
        #expect(slowest < 50_000_000, "a claim waited \(slowest / 1_000_000) ms")
    }
}
