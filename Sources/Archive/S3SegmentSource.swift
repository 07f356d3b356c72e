import Foundation
import Query
import S3
import SegmentFormat

/// A segment stored as an S3 object, read in place with ranged GETs: its header and footer (from the
/// footer cache when it holds them), then only the byte ranges of the chunks a query needs.
///
/// The header is read with one GET of the object's first bytes and the footer with one suffix GET,
/// concurrently, each sized by what the stream's other segments needed (`LayoutSizeHints`), and a
/// second GET only when one falls short. Chunk ranges closer than `coalesceGap` are fetched as one,
/// and pieces larger than `maxRequestBytes` are split, so large reads run in parallel. Every GET
/// after the first names the object's ETag (`If-Match`), so bytes of two versions never mix. An
/// object without a valid footer is fetched whole and its complete blocks recovered.
///
/// When the query reads nearly all of a segment (`wholeObjectShare` of the stream's first one, by
/// its `ReadPlan.Estimate`), the stream's later segments are each read whole with one GET instead
/// of a header, a footer and chunk ranges, and kept in memory (within `wholeObjectBudget`) until
/// the query reads them.
public final class S3SegmentSource: SegmentSource, @unchecked Sendable {
    /// Two chunk ranges are fetched as one when the bytes between them are at most `coalesceGap`
    /// and, with the gaps already joined, at most `coalesceWaste` of the chunk bytes they join.
    /// Measured (tools/bench/s3query, docs/benchmarks.md): a ranged GET costs moto the same 6-9 ms
    /// for 100 bytes or 4 MiB, and S3 tens of milliseconds to a first byte, so joining always saves
    /// time; the bound comes from the bytes: joining every gap up to 16 KiB fetched 3.8x what a
    /// two-column query needed from daily segments (the columns between came along), these
    /// bounds 1.03-1.15x, however small the chunks.
    public static let coalesceGap = 16 << 10
    public static let coalesceWaste = 0.25
    /// Largest single GET: splits big reads so they proceed in parallel.
    public static let maxRequestBytes = 8 << 20
    /// A segment is read whole when the query needs at least this share of its stream's first
    /// one: then the whole is at most 1.25x the bytes needed (the target is 1.3x), and one request
    /// replaces three or four, which is what time on a store is made of (a full decode of 365
    /// daily segments sent three GETs per segment, ranged; read whole, one).
    public static let wholeObjectShare = 0.8
    /// Bytes of whole objects one command holds at most (`ByteBudget`); beyond, reads are ranged.
    public static let wholeObjectBudget = 256 << 20

    public let location: S3Location
    public var name: String { location.description }
    private let client: S3Client
    private let cache: FooterCache?
    private let hints: LayoutSizeHints
    private let statistics: ArchiveStatistics
    private let estimate: ReadPlan.Estimate?
    private let budget: ByteBudget
    private let listedSize: Int?
    private let lock = NSLock()
    private var etag: String?

    /// The object at `location`; `size` and `etag` when a listing gave them; `estimate`, the chunk
    /// bytes the query will read of a layout, when the command knows it.
    init(location: S3Location, size: Int?, etag: String?, client: S3Client, cache: FooterCache?,
         hints: LayoutSizeHints, statistics: ArchiveStatistics, estimate: ReadPlan.Estimate?, budget: ByteBudget) {
        self.location = location
        self.listedSize = size
        self.etag = etag.flatMap { $0.isEmpty ? nil : $0 }
        self.client = client
        self.cache = cache
        self.hints = hints
        self.statistics = statistics
        self.estimate = estimate
        self.budget = budget
    }

    private var knownETag: String? {
        lock.lock()
        defer { lock.unlock() }
        return etag
    }

    /// Records the ETag the object answered with; throws when it differs from the one known.
    private func check(_ answered: String?) throws {
        guard let answered, !answered.isEmpty else { return }
        lock.lock()
        defer { lock.unlock() }
        if let etag, etag != answered {
            throw S3Error(.objectChanged, location, "the object changed while it was being read (its ETag no longer matches); run the command again")
        }
        etag = answered
    }

    /// The stream this object belongs to (its key up to the partitions), for `LayoutSizeHints`.
    private var stream: String {
        if let r = location.key.range(of: "/dt=") { return String(location.key[..<r.lowerBound]) }
        return (location.key as NSString).deletingLastPathComponent
    }

    public func layout() async throws -> SegmentLayout {
        if let cache, let etag = knownETag, let entry = cache.load(bucket: location.bucket, key: location.key, etag: etag),
           let layout = try? Self.layout(entry) {
            statistics.update {
                $0.cacheHits += 1
                $0.objects += 1
                $0.objectBytes += entry.size
            }
            return layout
        }
        let stream = self.stream
        let guess = await hints.hint(for: stream)
        do {
            let (layout, entry): (SegmentLayout, FooterCache.Entry)
            if let size = listedSize, let share = guess.share, share >= Self.wholeObjectShare, size <= Self.maxRequestBytes,
               budget.reserve(size) {
                (layout, entry) = try await fetchWhole(size: size)
            } else {
                (layout, entry) = try await fetchLayout(headerGuess: guess.header, footerGuess: guess.footer)
            }
            let share = estimate.map { Double(entry.header.count + entry.footer.count + $0(layout)) / Double(max(1, layout.size)) }
            await hints.learned(stream: stream, header: entry.header.count, footer: entry.footer.count, share: layout.isSealed ? share : nil)
            statistics.update {
                $0.cacheMisses += 1
                $0.objects += 1
                $0.objectBytes += layout.size
                $0.bytesNeeded += layout.isSealed ? entry.header.count + entry.footer.count : layout.size
            }
            if let etag = knownETag, layout.isSealed { cache?.store(entry, bucket: location.bucket, key: location.key, etag: etag) }
            return layout
        } catch {
            await hints.abandon(stream: stream)
            throw error
        }
    }

    static func layout(_ entry: FooterCache.Entry) throws -> SegmentLayout {
        try entry.header.withUnsafeBytes { header in
            try entry.footer.withUnsafeBytes { footer in
                try SegmentLayout(size: entry.size, prefix: header, tail: footer)
            }
        }
    }

    private func get(_ range: S3Client.ByteRange) async throws -> S3Client.ObjectBytes {
        let answer = try await client.get(bucket: location.bucket, key: location.key, range: range, ifMatch: knownETag)
        try check(answer.etag)
        return answer
    }

    /// The whole object of `size` bytes with one GET, its layout keeping its bytes for the reads.
    private func fetchWhole(size: Int) async throws -> (SegmentLayout, FooterCache.Entry) {
        let whole = try await get(.bytes(0..<size))
        guard whole.objectSize == size, whole.offset == 0, whole.bytes.count == size else {
            throw S3Error(.objectChanged, location, "the object changed size while it was being read; run the command again")
        }
        let reader = try SegmentReader(data: SegmentData(whole.bytes))
        let layout = SegmentLayout(reader, keepingFile: true)
        guard layout.isSealed else { return (layout, FooterCache.Entry(size: size, header: [], footer: [])) }
        let footerLength = try whole.bytes.withUnsafeBytes { try SegmentLayout.footerLength(tail: $0) }
        return (layout, FooterCache.Entry(size: size, header: Array(whole.bytes.prefix(layout.headerEnd)),
                                          footer: Array(whole.bytes.suffix(footerLength))))
    }

    private func fetchLayout(headerGuess: Int, footerGuess: Int) async throws -> (SegmentLayout, FooterCache.Entry) {
        var prefix: S3Client.ObjectBytes
        var tail: S3Client.ObjectBytes
        if listedSize == 0 { throw FormatError("not a segment file (the object is empty)") }
        if let size = listedSize, size <= headerGuess + footerGuess {
            let whole = try await get(.bytes(0..<max(1, size)))
            prefix = whole
            tail = whole
        } else {
            // The first GET learns the ETag (when no listing gave it) that the rest must match.
            if knownETag == nil {
                tail = try await get(.suffix(footerGuess))
                prefix = tail.offset == 0 ? tail : try await get(.bytes(0..<headerGuess))
            } else {
                async let head = get(.bytes(0..<headerGuess))
                async let end = get(.suffix(footerGuess))
                (prefix, tail) = try await (head, end)
            }
        }
        let size = tail.objectSize
        guard prefix.objectSize == size else {
            throw S3Error(.objectChanged, location, "the object changed size while it was being read; run the command again")
        }
        do {
            let headerLength = try prefix.bytes.withUnsafeBytes { try SegmentLayout.headerLength(prefix: $0) }
            if headerLength > prefix.bytes.count && headerLength <= size {
                let rest = try await get(.bytes(prefix.bytes.count..<headerLength))
                prefix.bytes += rest.bytes
            }
            let footerLength = try tail.bytes.withUnsafeBytes { try SegmentLayout.footerLength(tail: $0) }
            if footerLength > tail.bytes.count && footerLength <= size {
                let rest = try await get(.bytes((size - footerLength)..<tail.offset))
                tail = S3Client.ObjectBytes(bytes: rest.bytes + tail.bytes, offset: rest.offset, objectSize: size, etag: tail.etag)
            }
            guard headerLength <= prefix.bytes.count, footerLength <= tail.bytes.count else {
                throw FormatError("header or footer length runs past the end of the file")
            }
            let entry = FooterCache.Entry(size: size, header: Array(prefix.bytes.prefix(headerLength)),
                                          footer: Array(tail.bytes.suffix(footerLength)))
            return (try Self.layout(entry), entry)
        } catch is FormatError {
            // No sound footer (a writer died, or damage): read it all and recover what is whole.
            let whole = try await get(.whole)
            let reader = try SegmentReader(data: SegmentData(whole.bytes))
            let layout = SegmentLayout(reader, keepingFile: true)
            return (layout, FooterCache.Entry(size: whole.objectSize, header: [], footer: []))
        }
    }

    /// `ranges` sorted and joined across gaps of at most `coalesceGap` bytes, while the gap bytes
    /// joined stay within `coalesceWaste` of the range bytes.
    static func coalesce(_ ranges: [Range<Int>]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var useful = 0, waste = 0
        for r in ReadPlan.merge(ranges, gap: 0) {
            if let last = out.last {
                let gap = r.lowerBound - last.upperBound
                if gap <= coalesceGap && Double(waste + gap) <= coalesceWaste * Double(useful + r.count) {
                    out[out.count - 1] = last.lowerBound..<r.upperBound
                    useful += r.count
                    waste += gap
                    continue
                }
            }
            out.append(r)
            useful = r.count
            waste = 0
        }
        return out
    }

    public func read(_ ranges: [Range<Int>], of layout: SegmentLayout) async throws -> SegmentBytes {
        if let whole = layout.wholeFile {
            // A sealed segment read whole (not one recovered, all of which counted as needed).
            if layout.isSealed { statistics.update { $0.bytesNeeded += ranges.reduce(0) { $0 + $1.count } } }
            return SegmentBytes(wholeFile: whole)
        }
        statistics.update { $0.bytesNeeded += ranges.reduce(0) { $0 + $1.count } }
        var pieces: [Range<Int>] = []
        for r in Self.coalesce(ranges) {
            var start = r.lowerBound
            while start < r.upperBound {
                let end = min(r.upperBound, start + Self.maxRequestBytes)
                pieces.append(start..<end)
                start = end
            }
        }
        return try await withThrowingTaskGroup(of: SegmentBytes.Region.self) { group in
            for piece in pieces {
                group.addTask {
                    let answer = try await self.get(.bytes(piece))
                    guard answer.offset == piece.lowerBound, answer.bytes.count == piece.count else {
                        throw S3Error(.badResponse, self.location, "asked for \(piece.count) bytes at \(piece.lowerBound), got \(answer.bytes.count) at \(answer.offset)")
                    }
                    return SegmentBytes.Region(offset: piece.lowerBound, data: SegmentData(answer.bytes))
                }
            }
            var regions: [SegmentBytes.Region] = []
            for try await region in group { regions.append(region) }
            return SegmentBytes(regions)
        }
    }
}
