import Foundation
import NDJSON
import SegmentFormat
import Testing
@testable import Query

/// A source that serves a segment's bytes from memory after a pause, as a remote store would, and
/// records every range asked for.
final class RecordingSource: SegmentSource, @unchecked Sendable {
    let name: String
    let data: SegmentData
    private let lock = NSLock()
    private var asked: [Range<Int>] = []

    init(name: String, reader: SegmentReader) {
        self.name = name
        data = reader.data
    }

    var reads: [Range<Int>] {
        lock.lock()
        defer { lock.unlock() }
        return asked
    }

    func layout() async throws -> SegmentLayout {
        let bytes = data.bytes
        let headerLength = try SegmentLayout.headerLength(prefix: bytes)
        let footerLength = try SegmentLayout.footerLength(tail: bytes)
        return try SegmentLayout(size: bytes.count, prefix: UnsafeRawBufferPointer(rebasing: bytes[..<headerLength]),
                                 tail: UnsafeRawBufferPointer(rebasing: bytes[(bytes.count - footerLength)...]))
    }

    func read(_ ranges: [Range<Int>], of layout: SegmentLayout) async throws -> SegmentBytes {
        try await Task.sleep(for: .milliseconds(1))
        lock.withLock { asked += ranges }
        return SegmentBytes(ranges.map { SegmentBytes.Region(offset: $0.lowerBound, data: SegmentData(Array(data.bytes[$0]))) })
    }
}

/// Runs `body` on a thread of its own: the query's synchronous waits for remote reads must not
/// block a thread of Swift's concurrency pool, which runs the tests (segcat runs them on its main thread).
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

struct SegmentSourceTests {
    static func remote(_ readers: [SegmentReader]) throws -> [(RecordingSource, QuerySegment)] {
        let sources = readers.enumerated().map { RecordingSource(name: "s3://b/seg\($0.offset)", reader: $0.element) }
        let opened = SegmentOpening.open(sources, concurrency: 4)
        return try zip(sources, opened).map { ($0, try $1.get()) }
    }

    static func run(_ configure: (inout Query) throws -> Void, _ segments: [QuerySegment]) throws -> String {
        var query = Query()
        try configure(&query)
        let sink = ByteSink()
        try QueryRunner(query: query, sink: sink) { _ in }.run(segments)
        return String(decoding: sink.bytes(), as: UTF8.self)
    }

    @Test func aLayoutFromHeaderAndFooterBytesIsTheReadersLayout() async throws {
        let reader = try QueryRunnerTests.segment(QueryRunnerTests.rows)
        let (_, segment) = try #require(try await onOwnThread { try Self.remote([reader]) }.first)
        #expect(segment.layout.header == reader.header)
        #expect(segment.layout.blocks == reader.blocks)
        #expect(segment.layout.size == reader.data.bytes.count)
        #expect(segment.layout.isSealed)
    }

    @Test(arguments: [
        "n > 1", "level = 'a' OR x IS NULL", "msg LIKE '%e%'",
    ])
    func remoteSegmentsAnswerAsLocalOnes(_ condition: String) async throws {
        let readers = try [QueryRunnerTests.segment(QueryRunnerTests.rows), QueryRunnerTests.segment(QueryRunnerTests.rows, blockRows: 1)]
        let configure: @Sendable (inout Query) throws -> Void = { $0.filter = try ExpressionParser.parse(condition) }
        let local = try Self.run(configure, readers.enumerated().map { QuerySegment(name: "seg\($0.offset)", reader: $0.element) })
        let remote = try await onOwnThread { try Self.run(configure, try Self.remote(readers).map(\.1)) }
        #expect(remote == local)
        #expect(!local.isEmpty)
    }

    @Test func onlyThePlannedChunksAreRead() async throws {
        let reader = try QueryRunnerTests.segment(QueryRunnerTests.rows)
        let (source, out) = try await onOwnThread {
            let (source, segment) = try Self.remote([reader])[0]
            return (source, try Self.run({
                $0.filter = try ExpressionParser.parse("level = 'b'")
                $0.select = ["n"]
            }, [segment]))
        }
        let layout = SegmentLayout(reader, keepingFile: false)
        #expect(out == "{\"n\":2}\n{\"n\":5}\n")
        let columns = reader.header.columns.map(\.name)
        let wanted = Set([columns.firstIndex(of: "level")!, columns.firstIndex(of: "n")!])
        let planned = Set(reader.blocks.indices.flatMap { b in wanted.map { layout.chunkRange(block: b, column: $0) } })
        #expect(!source.reads.isEmpty)
        #expect(source.reads.allSatisfy { r in planned.contains { $0.overlaps(r) } })
        // Blocks 0 and 2 hold level 'b' only by their min/max; block 1 (a, b) too: nothing else is read.
        #expect(source.reads.reduce(0) { $0 + $1.count } <= planned.reduce(0) { $0 + $1.count })
    }

    @Test func aTimeBoundReadsTheTimestampOnlyWhereABlockStraddlesIt() throws {
        let header = try QueryRunnerTests.segment(QueryRunnerTests.rows).header
        var query = Query()
        query.count = true
        query.since = 0
        let plan = ReadPlan(query: query, header: header)
        #expect(plan.columns.isEmpty)
        #expect(plan.timestamp == header.timestampColumn)
        query.select = ["msg"]
        query.count = false
        #expect(ReadPlan(query: query, header: header).columns == [header.columns.firstIndex { $0.name == "msg" }!])
        query.select = nil
        #expect(ReadPlan(query: query, header: header).columns == Array(header.columns.indices))
    }

    @Test func theEstimateIsTheChunksOfTheBlocksTheTimeRangeAndFilterKeep() throws {
        let reader = try QueryRunnerTests.segment(QueryRunnerTests.rows, blockRows: 1)
        let layout = SegmentLayout(reader, keepingFile: false)
        let columns = reader.header.columns.map(\.name)
        let msg = try #require(columns.firstIndex(of: "msg"))
        func chunks(_ blocks: [Int], _ column: Int) -> Int { blocks.reduce(0) { $0 + layout.chunkRange(block: $1, column: column).count } }
        var query = Query()
        query.select = ["msg"]
        #expect(ReadPlan.estimate(query)(layout) == chunks(Array(layout.blocks.indices), msg))
        // Whole records: every chunk of every block.
        query.select = nil
        let all = layout.blocks.indices.reduce(0) { total, b in total + columns.indices.reduce(0) { $0 + layout.chunkRange(block: b, column: $1).count } }
        #expect(ReadPlan.estimate(query)(layout) == all)
        // A bound that keeps the second block alone (it straddles nothing: one row per block).
        query.select = ["msg"]
        let second = try #require(layout.blocks[1].timeRange)
        query.since = second.lowerBound
        query.until = second.upperBound + 1
        #expect(layout.blocks.indices.filter { layout.blocks[$0].timeRange == second }.count == 1)
        #expect(ReadPlan.estimate(query)(layout) == chunks([1], msg))
        // Blocks the filter's min/max rule out are not counted (n: 1, 2, null, null, 5).
        query.since = nil
        query.until = nil
        query.filter = try ExpressionParser.parse("n = 2")
        let n = try #require(columns.firstIndex(of: "n"))
        #expect(ReadPlan.estimate(query)(layout) == chunks([1], msg) + chunks([1], n))
        query.filter = nil
        query.since = second.lowerBound
        query.until = second.upperBound + 1
        // A plain count inside the bound needs no chunk at all.
        query.select = nil
        query.count = true
        #expect(ReadPlan.estimate(query)(layout) == 0)
    }

    @Test func rangesCloseTogetherAreMerged() {
        #expect(ReadPlan.merge([10..<20, 0..<5, 23..<30], gap: 4) == [0..<5, 10..<30])
        #expect(ReadPlan.merge([10..<20, 0..<5, 25..<30], gap: 0) == [0..<5, 10..<20, 25..<30])
    }

    @Test func segmentBytesFindsTheRegionHoldingARange() {
        let bytes = SegmentBytes([.init(offset: 100, data: SegmentData([1, 2, 3])), .init(offset: 10, data: SegmentData([9, 8]))])
        #expect(bytes.bytes(101..<103).map(Array.init) == [2, 3])
        #expect(bytes.bytes(10..<12).map(Array.init) == [9, 8])
        #expect(bytes.bytes(11..<13) == nil)
        #expect(bytes.bytes(99..<101) == nil)
    }

    @Test func manyLocalSegmentsAreMappedAFewAtATime() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lazy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let reader = try QueryRunnerTests.segment(QueryRunnerTests.rows)
        // The reader owns the bytes: keep it alive until they are copied.
        let bytes = withExtendedLifetime(reader) { Array(reader.data.bytes) }
        let files = OpenSegmentFiles(capacity: 3)
        var sources: [any SegmentSource] = []
        for i in 0..<40 {
            let path = dir.appendingPathComponent("s\(i).seg").path
            #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            sources.append(LocalSegmentSource(path: path, files: files))
        }
        let segments = try SegmentOpening.open(sources, concurrency: 4).map { try $0.get() }
        #expect(files.mapped == 0)
        let out = try Self.run({ $0.count = true; $0.filter = try ExpressionParser.parse("n >= 1") }, segments)
        #expect(out == "{\"count\":120}\n")
        #expect(files.mapped == 40)
        #expect(files.openCount <= 3)
    }
}
