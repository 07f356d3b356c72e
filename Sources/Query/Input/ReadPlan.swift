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
            if let i = columns.firstIndex(where: { $0.name == field && $0.type != .extra }) { needed.insert(i) }
        }
        self.columns = needed.sorted()
        timestamp = query.since != nil || query.until != nil ? header.timestampColumn : nil
    }

    /// The file ranges of block `block`'s needed chunks, sorted, touching ranges merged.
    public func ranges(_ layout: SegmentLayout, block: Int, insideTimeRange: Bool) -> [Range<Int>] {
        var wanted = columns
        if !insideTimeRange, let timestamp, !wanted.contains(timestamp) { wanted.append(timestamp) }
        let meta = layout.blocks[block]
        return Self.merge(wanted.filter { $0 < meta.chunks.count }.map { layout.chunkRange(block: block, column: $0) }, gap: 0)
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
