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

    @Test func aKeyFileThatCannotBeReadIsAnErrorNotAnEmptyFile() throws {
        try FileManager.default.createDirectory(atPath: dir + "/_idempotency", withIntermediateDirectories: true)
        #expect(throws: FileError.self) { try store(Clock()) }
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
