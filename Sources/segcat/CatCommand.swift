import ArgumentParser
import Foundation
import NDJSON
import Query
import SegmentFormat

/// `segcat cat`: decodes segments to NDJSON, or answers a query over them.
struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Decode segments to NDJSON, or filter, project and aggregate them.",
        discussion: """
        Without options every record comes back as it was packed: timestamps as RFC 3339 UTC, unknown \
        fields back in the record, absent fields absent and nulls null.

        Examples:
          segcat logs/ --where "level = 'error' AND status >= 500" --since -2h
          segcat flights.seg --group-by carrier --agg 'count(*),avg(arr_delay)' --format table
          segcat 'archive/*.seg' --select ts,host,msg --where "msg ILIKE '%timeout%'" --limit 20

        --where takes SQL WHERE syntax: = != <> < <= > >=, AND OR NOT, parentheses, IN (...), \
        IS [NOT] NULL, LIKE and ILIKE with % and _, 'strings', numbers, TRUE, FALSE, NULL. A timestamp \
        field compares with RFC 3339 strings. Null and absent values compare as unknown, and every \
        aggregate but count(*) skips them.

        Segments of one stream written under older schemas can be read together: fields are matched \
        by name, and a field a segment lacks reads as absent. A field whose type differs between \
        segments is an error. Blocks are pruned by time range and min/max before they are read; \
        only the columns the query needs are decoded. Group-by output is sorted by the group fields.

        A damaged block is reported on stderr (file, block, reason) and skipped; whenever a row the \
        query asked for could not be read, a last line on stderr says how many blocks and rows were \
        skipped and the exit status is 1. --strict stops at the first damaged block. A segment whose \
        writer died before its footer is read block by block: after a damaged block the reader \
        resumes at the next intact one, and an unfinished last block (the writer died, or is still \
        writing) is left out with a note on stderr and exit status 0.

        --count without --where, --since or --until is answered from the segments' footers, which are \
        checksummed, without reading the blocks: it counts rows of damaged blocks too. `segcat verify` \
        is how to check that every block is readable.
        """
    )

    @Argument(help: "Segment files, directories (searched recursively for *.seg, in path order), globs, - for stdin, or s3://BUCKET/PREFIX (down to a tenant, stream, dt= or hour= partition, or one object).")
    var paths: [String]

    @Option(help: "Output these fields, in this order (comma-separated).")
    var select: String?

    // Values that start with '-' (`--since -2h`, `--where "-2 < x"`, `--limit -1`) are values, not
    // options: these options always take the next argument.
    @Option(name: .customLong("where"), parsing: .unconditional, help: "Keep the rows where this SQL condition is true.")
    var condition: String?

    @Option(parsing: .unconditional, help: "Keep rows at or after this time: RFC 3339, or relative like -15m, -2h, -7d.")
    var since: String?

    @Option(parsing: .unconditional, help: "Keep rows before this time: RFC 3339, or relative like -15m, -2h, -7d.")
    var until: String?

    @Option(parsing: .unconditional, help: "Output at most this many rows.")
    var limit: Int?

    @Flag(help: "Output the number of matching rows (one row headed 'count').")
    var count = false

    @Option(help: "Group rows by these fields (comma-separated); use with --agg.")
    var groupBy: String?

    @Option(help: "Aggregates: count(*), count(x), count(distinct x), sum(x), avg(x), min(x), max(x), comma-separated.")
    var agg: String?

    @Option(help: "Output format: \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: String = "ndjson"

    @Flag(help: "Stop at the first damaged block (exit 1) instead of skipping it.")
    var strict = false

    @Flag(help: "Print what was pruned, read and decoded on stderr (and the S3 requests, bytes and cache hits).")
    var stats = false

    @OptionGroup(title: "S3")
    var s3: S3Options

    func validate() throws {
        if OutputFormat(rawValue: format) == nil {
            throw ValidationError("--format must be one of \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
        if let select, Self.list(select).isEmpty { throw ValidationError("--select needs at least one field") }
        if groupBy != nil && agg == nil && !count { throw ValidationError("--group-by needs --agg (or --count)") }
        if count && agg != nil { throw ValidationError("use count(*) in --agg instead of --count with --agg") }
        if select != nil && (count || agg != nil || groupBy != nil) { throw ValidationError("--select lists rows; it does not combine with --count, --group-by or --agg") }
    }

    func run() throws {
        ignoreBrokenPipe()
        let query: Query
        do {
            query = try makeQuery()
        } catch let e as ExpressionParser.SyntaxError {
            printError(Self.pointAt(e, in: condition ?? ""))
            throw ExitCode.validationFailure
        } catch {
            printError("\(error)")
            throw ExitCode.validationFailure
        }
        let sink = ByteSink(fd: 1)
        var lost = LostRows()
        let inputs = SegmentInputs(options: s3)
        defer { inputs.shutdown() }
        do {
            let sources = try inputs.sources(paths, since: query.since, until: query.until, estimate: ReadPlan.estimate(query), note: printError)
            let segments = try inputs.open(sources) { name, error in
                printError("\(name): \(error)")
                lost.segments += 1
            }
            if lost.segments > 0 && query.strict { throw ExitStatus.badInput }
            for segment in segments {
                if let recovery = segment.layout.recovery {
                    printError("\(segment.name): \(recovery)")
                    if !recovery.damaged.isEmpty {
                        lost.add(blocks: recovery.damagedBlocks, rows: recovery.damagedRows)
                        if query.strict { throw ExitStatus.badInput }
                    }
                }
            }
            let runner = QueryRunner(query: query, sink: sink) { printError($0) }
            do {
                try runner.run(segments)
            } catch let e as QueryError {
                try? sink.flush()
                if let field = e.conditionField, let condition, let column = ExpressionParser.column(ofField: field, in: condition) {
                    printError(Self.pointAt(ExpressionParser.SyntaxError(column: column, message: e.message), in: condition))
                } else {
                    printError("\(e)")
                }
                throw e.kind == .usage ? ExitCode.validationFailure : ExitStatus.cannotRun
            } catch is FormatError {
                throw ExitStatus.badInput
            }
            if stats {
                printError(runner.statistics.description)
                if let archive = inputs.archive { printError(archive.summary) }
            }
            lost.add(blocks: runner.statistics.damaged, rows: runner.statistics.damagedRows)
        } catch let closed as ByteSink.OutputClosed where closed.brokenPipe {
            return
        } catch let error where SegmentInputs.isUnusable(error) {
            // Never a partial answer with exit 0: what was written stays, and the status says it failed.
            try? sink.flush()
            printError("\(error)")
            throw ExitStatus.cannotRun
        }
        if let summary = lost.summary {
            printError(summary)
            throw ExitStatus.badInput
        }
    }

    private func makeQuery() throws -> Query {
        var q = Query()
        q.select = select.map(Self.list)
        q.filter = try condition.map { try ExpressionParser.parse($0) }
        q.since = try since.map { try Self.time($0, "--since") }
        q.until = try until.map { try Self.time($0, "--until") }
        q.limit = limit
        q.count = count
        q.groupBy = groupBy.map(Self.list) ?? []
        q.aggregates = try agg.map { try AggregateSpec.parseList($0) } ?? []
        q.format = OutputFormat(rawValue: format) ?? .ndjson
        q.strict = strict
        return q
    }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// RFC 3339, or `-N` followed by s, m, h or d (that long before now). Refuses times a
    /// timestamp cannot hold (outside 1677-09-21 to 2262-04-11, nanoseconds in an Int64).
    static func time(_ text: String, _ option: String) throws -> Int64 {
        if let ns = RFC3339.parse(text) { return ns }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if text.hasPrefix("-"), let unit = text.last.flatMap({ units[$0] }), let n = Int64(text.dropFirst().dropLast()), n >= 0 {
            let now = Int64(Date().timeIntervalSince1970 * 1e9)
            let (seconds, o1) = n.multipliedReportingOverflow(by: unit)
            let (span, o2) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
            let (instant, o3) = now.subtractingReportingOverflow(span)
            guard !o1 && !o2 && !o3 else {
                throw QueryError("\(option) '\(text)' is too far back: timestamps reach back to 1677-09-21 only")
            }
            return instant
        }
        throw QueryError("\(option) '\(text)' is neither an RFC 3339 date-time (2024-05-01T12:00:00Z) nor a relative time (-15m, -2h, -7d)")
    }

    /// The error with the expression and a caret under the column at fault.
    static func pointAt(_ e: ExpressionParser.SyntaxError, in text: String) -> String {
        "\(e)\n  \(text)\n  \(String(repeating: " ", count: max(0, e.column - 1)))^"
    }
}

/// What a query could not read: damaged blocks (with their rows, when known) and segments that
/// could not be opened at all.
struct LostRows {
    var blocks = 0
    /// Rows of the damaged blocks; nil once a block's row count is unknown.
    var rows: Int? = 0
    var segments = 0

    mutating func add(blocks: Int, rows: Int?) {
        self.blocks += blocks
        self.rows = self.rows.flatMap { total in rows.map { total + $0 } }
    }

    /// The closing line on stderr, or nil when every requested row was read.
    var summary: String? {
        guard blocks > 0 || segments > 0 else { return nil }
        var parts: [String] = []
        if blocks > 0 {
            let rowText = rows.map { "\($0) row\($0 == 1 ? "" : "s")" } ?? "an unknown number of rows"
            parts.append("skipped \(blocks) damaged block\(blocks == 1 ? "" : "s") (\(rowText))")
        }
        if segments > 0 { parts.append("\(segments) segment\(segments == 1 ? "" : "s") could not be read at all") }
        return parts.joined(separator: "; ") + ": the output lacks their rows"
    }
}
