/// What the analyst asked for: which rows (`filter`, time range), which fields, and whether to
/// list rows, count them, or aggregate them by groups.
public struct Query: Sendable {
    public var select: [String]?
    public var filter: Expression?
    /// Inclusive lower bound on the stream's timestamp, ns.
    public var since: Int64?
    /// Exclusive upper bound on the stream's timestamp, ns.
    public var until: Int64?
    public var limit: Int?
    public var count = false
    public var groupBy: [String] = []
    public var aggregates: [AggregateSpec] = []
    public var format: OutputFormat = .ndjson
    /// Stop at the first damaged block instead of skipping it.
    public var strict = false

    public init() {}

    public var isAggregate: Bool { count || !groupBy.isEmpty || !aggregates.isEmpty }

    /// The same query in the form the runner executes: `--count` with `--group-by` is a `count`
    /// aggregate per group, and a field named twice in `--select` or `--group-by` is output once.
    var normalized: Query {
        var q = self
        if q.count && !q.groupBy.isEmpty {
            q.count = false
            q.aggregates = [AggregateSpec(function: .count, field: nil, text: "count")] + q.aggregates
        }
        q.select = q.select.map(Self.unique)
        q.groupBy = Self.unique(q.groupBy)
        return q
    }

    private static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    /// Every field the query reads, in first-mention order.
    public var fields: [String] {
        var all = (select ?? []) + (filter?.fields ?? []) + groupBy + aggregates.compactMap(\.field)
        var seen = Set<String>()
        all.removeAll { !seen.insert($0).inserted }
        return all
    }
}

/// What a query did: how much it pruned and read, and how many blocks were damaged.
public struct QueryStatistics: Sendable, CustomStringConvertible {
    public var segments = 0
    public var segmentsPruned = 0
    public var blocks = 0
    public var blocksPruned = 0
    public var blocksCountedFromFooter = 0
    public var blocksRead = 0
    public var chunksDecoded = 0
    public var rowsMatched = 0
    public var damaged = 0
    /// Rows of the damaged blocks (by the footer), which the output lacks.
    public var damagedRows = 0

    public var description: String {
        "segments: \(segments) (\(segmentsPruned) pruned); blocks: \(blocks) (\(blocksPruned) pruned, \(blocksCountedFromFooter) counted from the footer, \(blocksRead) read); chunks decoded: \(chunksDecoded); rows matched: \(rowsMatched); damaged blocks: \(damaged) (\(damagedRows) rows)"
    }
}
