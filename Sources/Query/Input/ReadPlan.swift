import SegmentFormat

/// Which column chunks of a segment a query reads, and their byte ranges, from the footer's chunk
/// entries alone. The query's fields (by name, as the segment's header lays them out), the
/// timestamp when a block is only partly inside `--since`/`--until`, and every column when whole
/// records are written. Nothing else is fetched.
public struct ReadPlan: Sendable {
    /// Columns every planned block of the segment needs.
    public let columns: [Int]
    /// The timestamp column, needed in addition by blocks that straddle the time bounds.
    public let timestamp: Int?

    public init(query: Query, header: SegmentHeader) {
        let columns = header.columns
        var needed = Set<Int>()
        if !query.isAggregate && query.select == nil {
            // Whole records: every column in NDJSON (unknown fields included), every named one otherwise.
            for (i, c) in columns.enumerated() where query.format == .ndjson || c.type != .extra { needed.insert(i) }
        }
        for field in query.fields {
            switch FieldPath.resolve(field, columns: columns) {
            case let .column(i)?: needed.insert(i)
            // A path's values are in its parent's chunk and the shredded columns made from it.
            case let .path(parent, _)?: needed.insert(parent)
            case nil: break
            }
        }
        self.columns = needed.sorted()
        timestamp = query.since != nil || query.until != nil ? header.timestampColumn : nil
    }

    /// The file ranges of block `block`'s needed chunks, sorted, touching ranges merged.
    public func ranges(_ layout: SegmentLayout, block: Int, insideTimeRange: Bool) -> [Range<Int>] {
        var wanted = columns
        if !insideTimeRange, let timestamp, !wanted.contains(timestamp) { wanted.append(timestamp) }
        let meta = layout.blocks[block]
        wanted = wanted.filter { $0 < meta.chunks.count }
        // A json or extra column whose values were shredded is rebuilt from its shredded columns too.
        wanted += wanted.flatMap { layout.shreddedChunks(block: block, of: $0) }
        return Self.merge(wanted.map { layout.chunkRange(block: block, column: $0) }, gap: 0)
    }

    /// The chunk bytes a query reads of a segment, from its layout alone: given to a remote source
    /// before the query runs, so that it can choose between ranged reads and one read of the whole.
    public typealias Estimate = @Sendable (SegmentLayout) -> Int

    /// `query`'s estimate: the chunk bytes of every block that its time range and its filter's
    /// min/max pruning keep, as the query will read them.
    public static func estimate(_ query: Query) -> Estimate {
        { layout in
            // A filter that does not bind (a field of another type) fails the query later; here it prunes nothing.
            let filter = try? query.filter.map { try BoundExpression.bind($0, columns: layout.header.columns, path: "") }
            return ReadPlan(query: query, header: layout.header).bytes(layout, since: query.since, until: query.until) { meta in
                filter.flatMap { $0 }.map { Pruning.mayMatch($0, meta) } ?? true
            }
        }
    }

    /// The bytes of the needed chunks of `layout`'s blocks that `[since, until)` and `keep` keep.
    public func bytes(_ layout: SegmentLayout, since: Int64?, until: Int64?, keep: (BlockMeta) -> Bool = { _ in true }) -> Int {
        let timed = since != nil || until != nil
        var total = 0
        for (b, meta) in layout.blocks.enumerated() {
            if timed && !Pruning.mayMatch(time: meta.timeRange, since: since, until: until) || !keep(meta) { continue }
            let inside = !timed || Pruning.contains(time: meta.timeRange, since: since, until: until)
            total += ranges(layout, block: b, insideTimeRange: inside).reduce(0) { $0 + $1.count }
        }
        return total
    }

    /// `ranges` sorted, with those at most `gap` bytes apart joined into one.
    public static func merge(_ ranges: [Range<Int>], gap: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) where !r.isEmpty {
            if let last = out.last, r.lowerBound <= last.upperBound + gap {
                out[out.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }
}
