import Foundation
import Logging
import NDJSON
import SegmentFormat
import Testing
@testable import Ingest

/// A stream `t/app` in a temporary data directory, over a file system that can fail on demand:
/// opened (with its tenant, whose log it shares), posted to, and read back the way segd and
/// segcat would.
struct StreamFixture {
    static let schema = try! StreamSchema(json: Array("""
    {"$id": "app", "type": "object", "properties": {"ts": {"type": "string", "format": "date-time"}, "n": {"type": "integer"}},
     "required": ["ts"], "x-segment": {"timestamp": "ts"}}
    """.utf8))

    let root: String
    let fileSystem: FaultyFileSystem
    var options: StreamOptions

    init(blockRows: Int = 10) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        fileSystem = FaultyFileSystem()
        options = StreamOptions(node: "test")
        options.blockRows = blockRows
    }

    var directory: String { root + "/t/app" }
    var layout: StreamLayout { StreamLayout(tenant: "t", stream: "app", directory: directory) }
    /// The tenant's write-ahead log.
    var wal: String { root + "/t/_wal" }

    /// The stream's store and its tenant's storage, open.
    struct Opened {
        let store: StreamStore
        let tenant: TenantStorage
        var failure: Error? { store.failure }

        /// Shuts the tenant down (every stream, then its log) as segd does.
        func shutdown() async -> Bool { await tenant.shutdown() }
    }

    /// Opens (and recovers) the tenant and its store of `stream`, as a restart would.
    func open(stream: String = "app") async throws -> Opened {
        let tenant = try await openTenant()
        return Opened(store: try #require(await tenant.store(stream)), tenant: tenant)
    }

    /// Opens (and recovers) the tenant `t`, with the schema under the names `app` and `other`.
    func openTenant() async throws -> TenantStorage {
        let logger = Logger(label: "test")
        let hooks = try HookRunner(hooksDirectory: nil, journalDirectory: root + "/.hooks", timeout: 5, logger: logger)
        let keys = try IdempotencyStore(path: root + "/keys")
        let budget = BufferBudget(limit: options.maxBufferedBytes, tenantLimit: options.maxTenantBufferedBytes, wait: options.admissionWait)
        return try await TenantStorage.open(tenant: "t", directory: root + "/t", schemas: ["app": Self.schema, "other": Self.schema],
                                            options: options, idempotency: keys, budget: budget, hooks: hooks, logger: logger,
                                            fileSystem: fileSystem)
    }

    static func body(_ numbers: Range<Int>) -> [UInt8] {
        Array(numbers.map { #"{"ts":"2024-05-01T00:00:00Z","n":\#($0)}"# + "\n" }.joined().utf8)
    }

    /// Posts records `numbers` as one request; returns once durable (or throws like the store).
    static func post(_ opened: Opened, _ numbers: Range<Int>, key: String? = nil) async throws {
        let store = opened.store
        let batch = try body(numbers).withUnsafeBytes { raw throws(RecordError) in try store.prepare(raw, idempotencyKey: key, now: 0) }
        try await store.commit(batch)
    }

    func checkpoint() throws -> Checkpoint? {
        try Checkpoint.load(layout.checkpoint, fileSystem: PosixFileSystem())
    }

    /// Waits until the checkpoint covers batch `sequence`.
    func waitForCheckpoint(_ sequence: UInt64) async throws {
        for _ in 0..<500 {
            if try (checkpoint()?.sequence ?? 0) >= sequence { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the checkpoint never reached \(sequence)")
    }

    /// Every `n` in every segment of the stream (active, rotated, quarantined), in file order.
    func numbers(in folders: [String] = ["rotated", "active"], stream: String = "app") throws -> [Int64] {
        var all: [Int64] = []
        for folder in folders {
            let path = root + "/t/\(stream)/" + folder
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { continue }
            for name in names.sorted() where name.hasSuffix(".seg") {
                all += try Self.values(path + "/" + name)
            }
        }
        return all
    }

    static func values(_ path: String) throws -> [Int64] {
        let reader = try SegmentReader(path: path)
        return try reader.blocks.indices.flatMap { b -> [Int64] in
            guard case let .integers(v) = try reader.chunk(block: b, column: 1).values else { return [] }
            return v
        }
    }

    /// The files in a folder of the stream's directory.
    func files(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/" + folder)) ?? []).sorted()
    }

    /// The generation files of the tenant's log.
    func logFiles() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: wal)) ?? []).filter { $0.hasSuffix(".wal") }.sorted()
    }

    /// A block of `count` records starting at record `first`.
    static func block(first: Int, count: Int) throws -> BlockEncoder.EncodedBlock {
        let parser = RecordParser(schema: schema)
        for i in first..<(first + count) {
            let line = #"{"ts":"2024-05-01T00:00:\#(String(format: "%02d", i % 60))Z","n":\#(i)}"#
            try Array(line.utf8).withUnsafeBytes { try parser.append(line: $0, number: i + 1) }
        }
        return BlockEncoder(compression: .lz4).encode(parser.block)
    }
}
