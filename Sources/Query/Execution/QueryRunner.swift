import Dispatch
import Foundation
import NDJSON
import SegmentFormat
#if canImport(Glibc)
import Glibc
#endif

/// Runs a `Query` over segments: checks the fields, prunes segments and blocks by time range and
/// min/max, decodes only the columns the query reads, evaluates blocks on every core, and writes
/// results in segment and row order. Memory stays bounded by a window of blocks in flight (plus
/// the groups of a group-by).
public final class QueryRunner {
    public let query: Query
    private let sink: ByteSink
    private let report: (String) -> Void
    public private(set) var statistics = QueryStatistics()
    /// Blocks decoded at once: enough to keep every core busy, few enough to bound memory.
    private let window: Int

    /// Writes results to `sink`; reports damaged blocks and notes through `report` (a line each).
    public init(query: Query, sink: ByteSink, report: @escaping (String) -> Void) {
        self.query = query.normalized
        self.sink = sink
        self.report = report
        window = max(2, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// A segment opened for the query.
    struct Source {
        let path: String
        let segment: QuerySegment
        /// The chunks its blocks need.
        let plan: ReadPlan
        let filter: BoundExpression?
        /// Paths into json and extra columns the query reads (see `BlockData.paths`).
        let paths: [(parent: Int, keys: [[UInt8]])]
        /// A condition on paths, bound block by block (a path's type may differ between blocks).
        let pathFilter: PathCondition?
        let timestamp: Int?
        /// Column of each output field (nil: the segment lacks it).
        let output: [Int?]
        /// Columns of the group-by fields and of each aggregate's field.
        let groupColumns: [Int?]
        let aggregateColumns: [Int?]
    }

    /// One block to read, and whether its rows are all inside the time range.
    struct Task {
        let source: Int
        let block: Int
        let insideTimeRange: Bool
    }

    struct TaskResult: @unchecked Sendable {
        var output: ByteSink?
        /// Rows for the table format, which the main writer aligns.
        var table: [[Value]] = []
        var rows = 0
        var groups = GroupTable()
        var chunks = 0
        var error: FormatError?
        var otherError: String?
    }

    /// Runs the query over `segments` (in output order). Throws `QueryError` for a query that cannot
    /// run, `FormatError` on a damaged block under `strict`, `ByteSink.OutputClosed` when the output
    /// goes away, and what a segment's source throws when its bytes cannot be read.
    public func run(_ segments: [QuerySegment]) throws {
        statistics.segments = segments.count
        try checkFields(segments)
        let outputFields = query.select ?? Self.allFields(segments)
        let sources = try segments.map { try source($0, outputFields: outputFields) }
        let header = query.isAggregate ? (query.count && query.groupBy.isEmpty && query.aggregates.isEmpty ? ["count"] : query.groupBy + query.aggregates.map(\.text)) : outputFields
        let writer = ResultWriter(format: query.format, header: header, sink: sink)
        writer.writeHeader()

        var tasks: [Task] = []
        var footerCount = 0
        for (s, source) in sources.enumerated() {
            let reader = source.segment
            if query.since != nil || query.until != nil {
                guard source.timestamp != nil else {
                    report("\(source.path): the stream has no timestamp, so --since/--until match none of its rows")
                    statistics.segmentsPruned += 1
                    statistics.blocks += reader.blocks.count
                    statistics.blocksPruned += reader.blocks.count
                    continue
                }
                if !Pruning.mayMatch(time: reader.timeRange, since: query.since, until: query.until) {
                    statistics.segmentsPruned += 1
                    statistics.blocks += reader.blocks.count
                    statistics.blocksPruned += reader.blocks.count
                    continue
                }
            }
            for (b, meta) in reader.blocks.enumerated() {
                statistics.blocks += 1
                let timed = query.since != nil || query.until != nil
                if timed && !Pruning.mayMatch(time: meta.timeRange, since: query.since, until: query.until) {
                    statistics.blocksPruned += 1
                    continue
                }
                let pruning = try source.filter.map { ($0, meta) } ?? source.pathFilter?.pruning(meta)
                if let (filter, facts) = pruning, !Pruning.mayMatch(filter, facts) {
                    statistics.blocksPruned += 1
                    continue
                }
                let inside = !timed || Pruning.contains(time: meta.timeRange, since: query.since, until: query.until)
                // A plain count of rows the footer already knows to match needs no read at all.
                if isPlainCount && inside && source.filter == nil && source.pathFilter == nil {
                    footerCount += meta.rowCount
                    statistics.blocksCountedFromFooter += 1
                    continue
                }
                tasks.append(Task(source: s, block: b, insideTimeRange: inside))
            }
        }

        var groups = GroupTable()
        var emitted = 0
        var total = footerCount
        let limit = query.isAggregate ? Int.max : (query.limit ?? Int.max)
        let progress = Progress(total: tasks.count)
        // With a limit, one block at a time: later blocks are never read once the limit is met.
        let step = query.limit != nil && !query.isAggregate ? 1 : window
        let feed = BlockFeed(tasks.map { task in
            let source = sources[task.source]
            return BlockFeed.Item(segment: source.segment,
                                  ranges: source.plan.ranges(source.segment.layout, block: task.block, insideTimeRange: task.insideTimeRange))
        }, lookahead: step == 1 ? 1 : 4096)
        var start = 0
        while start < tasks.count && emitted < limit {
            let batch = Array(tasks[start..<min(start + step, tasks.count)])
            start += batch.count
            let inputs = try batch.map { _ in try feed.next() }
            let results = run(batch, inputs: inputs, sources: sources, outputFields: outputFields, remaining: limit - emitted)
            for (task, result) in zip(batch, results) {
                statistics.chunksDecoded += result.chunks
                if let error = result.error ?? result.otherError.map({ FormatError($0) }) {
                    statistics.damaged += 1
                    statistics.damagedRows += sources[task.source].segment.blocks[task.block].rowCount
                    report("\(sources[task.source].path): \(error.located(block: task.block))")
                    if query.strict { throw error.located(block: task.block) }
                    continue
                }
                statistics.blocksRead += 1
                statistics.rowsMatched += result.rows
                if query.isAggregate {
                    total += result.rows
                    groups.merge(result.groups)
                } else {
                    try result.output?.transfer(to: sink)
                    for row in result.table { writer.write(row) }
                    emitted += result.rows
                }
            }
            progress.update(done: start, rows: statistics.rowsMatched + footerCount)
        }
        progress.finish()
        statistics.rowsMatched += footerCount

        if query.isAggregate {
            if isPlainCount {
                if (query.limit ?? 1) > 0 { writer.write([.integer(Int64(total))]) }
            } else {
                if query.groupBy.isEmpty && groups.order.isEmpty {
                    // An aggregate over no rows still answers one row (count 0, others null).
                    groups.order = [[]]
                    groups.groups[[]] = query.aggregates.map { Accumulator($0.function) }
                }
                let keys = query.groupBy.isEmpty ? groups.order : groups.order.sorted { $0.lexicographicallyPrecedes($1) }
                for key in keys.prefix(query.limit ?? Int.max) {
                    let accumulators = groups.groups[key] ?? []
                    writer.write(key + (try zip(accumulators, query.aggregates).map { try $0.result($1) }))
                }
            }
        }
        writer.finish()
        try sink.flush()
    }

    private var isPlainCount: Bool { query.count && query.groupBy.isEmpty && query.aggregates.isEmpty }

    /// Output buffers, one per slot of the window, reused from window to window.
    private lazy var buffers: [ByteSink] = (0..<window).map { _ in ByteSink(flushThreshold: .max) }

    /// Reads `batch` on every core; results in batch order.
    private func run(_ batch: [Task], inputs: [SegmentBytes], sources: [Source], outputFields: [String], remaining: Int) -> [TaskResult] {
        let slots = ResultSlots(count: batch.count)
        let query = self.query
        let buffers = SendableBox(self.buffers)
        DispatchQueue.concurrentPerform(iterations: batch.count) { i in
            let buffer = buffers.value[i]
            buffer.reset()
            slots.set(i, Self.process(batch[i], sources[batch[i].source], input: inputs[i], query: query, outputFields: outputFields,
                                      remaining: remaining, buffer: buffer))
        }
        return slots.results
    }

    /// Evaluates one block: the rows it keeps, rendered or counted or grouped.
    static func process(_ task: Task, _ source: Source, input: SegmentBytes, query: Query, outputFields: [String], remaining: Int,
                        buffer: ByteSink) -> TaskResult {
        var result = TaskResult()
        let data = BlockData(segment: source.segment, block: task.block, bytes: input)
        data.paths = source.paths
        do {
            var condition = try source.filter ?? source.pathFilter?.bind(data)
            if !task.insideTimeRange, let ts = source.timestamp {
                var time: BoundExpression?
                if let since = query.since { time = .integers(column: ts, op: .greaterOrEqual, value: since) }
                if let until = query.until {
                    let upper = BoundExpression.integers(column: ts, op: .less, value: until)
                    time = time.map { .and([$0, upper]) } ?? upper
                }
                if let time { condition = condition.map { .and([time, $0]) } ?? time }
            }
            let selection = try condition.map { try Evaluator.evaluate($0, data) }
            let rows = data.rowCount
            let matched = selection.map(Self.trueCount) ?? rows
            if query.isAggregate {
                result.rows = matched
                if !(query.count && query.groupBy.isEmpty && query.aggregates.isEmpty) && matched > 0 {
                    result.groups = try aggregate(data, source, query: query, selection: selection)
                }
            } else if matched > 0 {
                if query.format == .table {
                    result.table = try selectedRows(data, source, selection: selection, limit: remaining)
                    result.rows = result.table.count
                } else {
                    result.rows = try render(data, source, query: query, outputFields: outputFields, selection: selection,
                                             limit: remaining, into: buffer)
                    result.output = buffer
                }
            }
            result.chunks = data.decodedChunks
        } catch let e as FormatError {
            result.error = e
        } catch {
            result.otherError = "\(error)"
        }
        return result
    }

    /// Rows whose truth is true (1).
    static func trueCount(_ selection: [UInt8]) -> Int {
        selection.withUnsafeBufferPointer { t in
            var n = 0
            for r in t.indices { n &+= t[r] == 1 ? 1 : 0 }
            return n
        }
    }

    private static func aggregate(_ data: BlockData, _ source: Source, query: Query, selection: [UInt8]?) throws -> GroupTable {
        func column(_ c: Int?) throws -> BlockAggregation.Column? {
            try c.map { (try data.chunk($0), try data.type($0)) }
        }
        let groups = BlockAggregation(keyColumns: try source.groupColumns.map(column), selection: selection, rows: data.rowCount)
        return groups.table(query.aggregates, columns: try source.aggregateColumns.map(column))
    }

    private static func render(_ data: BlockData, _ source: Source, query: Query, outputFields: [String],
                               selection: [UInt8]?, limit: Int, into sink: ByteSink) throws -> Int {
        let columns = source.segment.header.columns
        let rows = 0..<data.rowCount
        if query.format == .ndjson {
            // Whole records (every column, unknown fields too) unless --select names the fields.
            let descriptors: [ColumnDescriptor]
            let chunks: [DecodedChunk]
            if query.select == nil {
                descriptors = columns
                chunks = try columns.indices.map { try data.chunk($0) }
            } else {
                descriptors = try zip(outputFields, source.output).map { name, c in
                    guard let c else { return ColumnDescriptor(name: name, type: .string) }
                    return c < columns.count ? columns[c] : ColumnDescriptor(name: name, type: try data.type(c))
                }
                chunks = try source.output.map { c in try c.map { try data.chunk($0) } ?? BlockData.absent(rows: data.rowCount) }
            }
            return try RecordWriter(columns: descriptors).write(chunks, rows: rows, selection: selection, limit: limit, to: sink)
        }
        let chunks = try source.output.map { c in try c.map { (chunk: try data.chunk($0), type: try data.type($0)) } }
        return DelimitedWriter(format: query.format).write(chunks, rows: data.rowCount, selection: selection, limit: limit, to: sink)
    }

    /// The output fields of the selected rows, as values.
    private static func selectedRows(_ data: BlockData, _ source: Source, selection: [UInt8]?, limit: Int) throws -> [[Value]] {
        var cursors: [ColumnCursor?] = []
        for c in source.output { cursors.append(try c.map { ColumnCursor(try data.chunk($0), type: try data.type($0)) }) }
        var rows: [[Value]] = []
        for r in 0..<data.rowCount {
            guard rows.count < limit else { break }
            if let selection, selection[r] != 1 {
                for k in cursors.indices { cursors[k]?.skip(row: r) }
                continue
            }
            var row: [Value] = []
            for k in cursors.indices { row.append(cursors[k]?.value(row: r) ?? .null) }
            rows.append(row)
        }
        return rows
    }

    // MARK: Planning

    /// Checks that every field the query names exists in some segment, with one type everywhere.
    private func checkFields(_ readers: [QuerySegment]) throws {
        var types: [String: (ColumnType, String)] = [:]
        for reader in readers {
            let path = reader.name
            for field in query.fields {
                guard case let .column(i)? = FieldPath.resolve(field, columns: reader.header.columns) else { continue }
                let c = reader.header.columns[i]
                if let (type, firstPath) = types[field], type != c.type {
                    throw QueryError("field '\(c.name)' is \(BoundExpression.describe(type)) in \(firstPath) but \(BoundExpression.describe(c.type)) in \(path): query the segments separately",
                                     kind: .cannotRun)
                }
                types[field] = types[field] ?? (c.type, path)
            }
        }
        if !readers.isEmpty {
            // A path into a json column, or a field outside the schema (any name, in a segment
            // that holds such fields), may be in any block: its type is the block's.
            func mayHold(_ field: String, _ segment: QuerySegment) -> Bool {
                guard case let .path(parent, _)? = FieldPath.resolve(field, columns: segment.header.columns) else { return false }
                return segment.header.columns[parent].type == .json
                    || segment.blocks.contains { $0.chunks[parent].nullCount + $0.chunks[parent].absentCount < $0.rowCount }
            }
            for field in query.fields where types[field] == nil && !readers.contains(where: { mayHold(field, $0) }) {
                let known = Self.allFields(readers)
                throw QueryError("no segment has a field '\(field)' (fields: \(known.prefix(30).joined(separator: ", "))\(known.count > 30 ? ", ..." : ""))",
                                 conditionField: query.filter?.fields.contains(field) == true ? field : nil)
            }
        }
    }

    /// Field names of all segments, in first-seen order (the extra column left out).
    static func allFields(_ readers: [QuerySegment]) -> [String] {
        var seen = Set<String>()
        var names: [String] = []
        for reader in readers {
            for c in reader.header.columns where c.type != .extra && seen.insert(c.name).inserted { names.append(c.name) }
        }
        return names
    }

    private func source(_ segment: QuerySegment, outputFields: [String]) throws -> Source {
        let path = segment.name
        let columns = segment.header.columns
        var paths: [(parent: Int, keys: [[UInt8]])] = []
        // A column's index, or for a path `columns.count + 4k + view` (path k of `paths`).
        func index(_ name: String, _ view: PathViews.View) -> Int? {
            switch FieldPath.resolve(name, columns: columns) {
            case let .column(i)?: return i
            case let .path(parent, keys)?:
                var k = paths.firstIndex { $0.parent == parent && $0.keys == keys }
                if k == nil {
                    paths.append((parent, keys))
                    k = paths.count - 1
                }
                return columns.count + 4 * (k ?? 0) + view.rawValue
            case nil: return nil
            }
        }
        func index(_ name: String) -> Int? { index(name, .raw) }
        for a in query.aggregates {
            guard let f = a.field, let c = index(f), c < columns.count else { continue }
            let type = columns[c].type
            if (a.function == .sum || a.function == .avg) && type != .integer && type != .number {
                throw QueryError("--agg \(a.text): field '\(f)' is \(BoundExpression.describe(type)) in \(path); sum and avg need numbers")
            }
        }
        let pathFilter = query.filter.flatMap { PathCondition($0, columns: columns, path: path, index: index) }
        let output = outputFields.map(index), groupColumns = query.groupBy.map(index)
        // sum and avg read a path's numbers; the others its values as they are.
        let aggregateColumns = query.aggregates.map { a in a.field.flatMap { index($0, a.function == .sum || a.function == .avg ? .numeric : .raw) } }
        return Source(path: path, segment: segment, plan: ReadPlan(query: query, header: segment.header),
                      filter: try pathFilter == nil ? query.filter.map { try BoundExpression.bind($0, columns: columns, path: path) } : nil,
                      paths: paths, pathFilter: pathFilter.map { $0.with(paths: paths) },
                      timestamp: segment.header.timestampColumn,
                      output: output, groupColumns: groupColumns, aggregateColumns: aggregateColumns)
    }
}

/// Results of concurrently processed blocks, one slot each; every slot is written by exactly one
/// iteration of `concurrentPerform` and read only after it returns.
private final class ResultSlots: @unchecked Sendable {
    private var storage: [QueryRunner.TaskResult?]
    private let lock = NSLock()

    init(count: Int) { storage = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ r: QueryRunner.TaskResult) {
        lock.lock()
        storage[i] = r
        lock.unlock()
    }

    var results: [QueryRunner.TaskResult] { storage.map { $0 ?? QueryRunner.TaskResult() } }
}

/// Wraps a value that is only read concurrently (the buffers: each iteration uses its own).
private struct SendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A progress line on stderr for queries that run longer than a second, when stderr is a terminal.
final class Progress {
    private let total: Int
    private let started = DispatchTime.now()
    private let enabled = isatty(2) != 0
    private var shown = false

    init(total: Int) { self.total = total }

    func update(done: Int, rows: Int) {
        guard enabled, DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds > 1_000_000_000 else { return }
        shown = true
        write("\rsegcat: \(done)/\(total) blocks, \(rows) rows matched\u{1B}[K")
    }

    func finish() {
        if shown { write("\r\u{1B}[K") }
    }

    private func write(_ text: String) {
        var t = text
        t.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
    }
}

