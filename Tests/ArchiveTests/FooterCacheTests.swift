import Foundation
import Testing
@testable import Archive

struct FooterCacheTests {
    static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("footer-cache-\(UUID().uuidString)").path
    }

    let entry = FooterCache.Entry(size: 12_345, header: Array("header bytes".utf8), footer: Array(repeating: 7, count: 300))

    @Test func entriesAreKeyedByBucketKeyAndETag() {
        let cache = FooterCache(directory: Self.directory(), limit: 1 << 20)
        cache.store(entry, bucket: "b", key: "k.seg", etag: "e1")
        #expect(cache.load(bucket: "b", key: "k.seg", etag: "e1") == entry)
        #expect(cache.load(bucket: "b", key: "k.seg", etag: "e2") == nil)
        #expect(cache.load(bucket: "other", key: "k.seg", etag: "e1") == nil)
    }

    @Test func aDamagedEntryIsAMissAndIsRemoved() throws {
        let dir = Self.directory()
        let cache = FooterCache(directory: dir, limit: 1 << 20)
        cache.store(entry, bucket: "b", key: "k.seg", etag: "e1")
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: dir + "/footers").first)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/footers/" + file)))
        bytes[bytes.count / 2] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/footers/" + file))
        #expect(cache.load(bucket: "b", key: "k.seg", etag: "e1") == nil)
        #expect(!FileManager.default.fileExists(atPath: dir + "/footers/" + file))
    }

    @Test func theCacheStaysWithinItsBound() throws {
        let dir = Self.directory()
        let cache = FooterCache(directory: dir, limit: 4_000)
        for i in 0..<40 { cache.store(entry, bucket: "b", key: "k\(i).seg", etag: "e") }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/footers")
        let held = try names.reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: dir + "/footers/" + $1)[.size] as? Int) ?? 0) }
        #expect(held <= 4_000)
        #expect(cache.load(bucket: "b", key: "k39.seg", etag: "e") == entry)
        #expect(cache.load(bucket: "b", key: "k0.seg", etag: "e") == nil)
    }

    @Test func aZeroBoundStoresNothing() {
        let cache = FooterCache(directory: Self.directory(), limit: 0)
        cache.store(entry, bucket: "b", key: "k.seg", etag: "e1")
        #expect(cache.load(bucket: "b", key: "k.seg", etag: "e1") == nil)
    }
}
