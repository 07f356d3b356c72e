import NDJSON

/// How query results are printed.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// One JSON object a row (the default).
    case ndjson
    /// RFC 4180: a header line, fields quoted when they hold a comma, quote or line break; nulls
    /// empty (a row of one null field is `""`, so that CSV readers keep it); non-finite numbers
    /// `inf`, `-inf`, `nan`, as DuckDB writes them.
    case csv
    /// A header line, tab-separated; tab, newline, carriage return and backslash escaped as \t \n \r \\.
    case tsv
    /// Columns aligned for a terminal; numbers right-aligned; escapes as in tsv, so a row stays one
    /// line. Rows are aligned 1,000 at a time.
    case table
}

/// Writes result rows of `Value`s (projections, groups, counts) in an `OutputFormat`.
/// Not thread-safe; one per output (or one per block, then concatenated).
final class ResultWriter {
    let format: OutputFormat
    let header: [String]
    let sink: ByteSink
    private var pending: [[String]] = []
    private var numeric: [Bool]

    static let tableBatch = 1_000

    init(format: OutputFormat, header: [String], sink: ByteSink) {
        self.format = format
        self.header = header
        self.sink = sink
        numeric = Array(repeating: true, count: header.count)
    }

    func writeHeader() {
        switch format {
        case .ndjson: break
        case .csv: line(header.map(Self.csvField))
        case .tsv: line(header.map(Self.tsvField))
        case .table: break
        }
    }

    func write(_ row: [Value]) {
        switch format {
        case .ndjson:
            sink.append(UInt8(ascii: "{"))
            for (i, v) in row.enumerated() {
                if i > 0 { sink.append(UInt8(ascii: ",")) }
                appendJSONString(header[i])
                sink.append(UInt8(ascii: ":"))
                appendJSON(v)
            }
            sink.append("}\n" as StaticString)
        case .csv:
            // One empty field alone would be an empty line, which CSV readers skip.
            if row.count == 1, Self.text(row[0]).isEmpty { sink.append("\"\"\n" as StaticString); return }
            line(row.map { Self.csvField(Self.text($0)) })
        case .tsv: line(row.map { Self.tsvField(Self.text($0)) })
        case .table:
            for (i, v) in row.enumerated() {
                switch v {
                case .integer, .number, .null: break
                default: numeric[i] = false
                }
            }
            pending.append(row.map { Self.tsvField(Self.text($0)) })
            if pending.count >= Self.tableBatch { flushTable() }
        }
    }

    /// Writes what a table format still holds.
    func finish() {
        if format == .table { flushTable(force: true) }
    }

    private var tableStarted = false

    private func flushTable(force: Bool = false) {
        guard !pending.isEmpty || (force && !tableStarted) else { return }
        let rows = [header.map(Self.tsvField)] + pending
        let widths = header.indices.map { c in rows.map { $0[c].unicodeScalars.count }.max() ?? 0 }
        for (r, row) in rows.enumerated() {
            if r == 0 && tableStarted { continue }
            let cells = row.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.unicodeScalars.count)
                return numeric[c] && r > 0 ? pad + cell : cell + pad
            }
            var text = cells.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            sink.append(text + "\n")
            if r == 0 {
                sink.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n")
            }
        }
        tableStarted = true
        pending.removeAll(keepingCapacity: true)
    }

    private func line(_ fields: [String]) {
        sink.append(fields.joined(separator: format == .csv ? "," : "\t") + "\n")
    }

    /// A value as text: numbers in full precision, timestamps in RFC 3339 UTC, null as empty.
    static func text(_ v: Value) -> String {
        switch v {
        case let .integer(i): String(i)
        case let .number(d): numberText(d)
        case let .boolean(b): b ? "true" : "false"
        case let .string(s), let .json(s): String(decoding: s, as: UTF8.self)
        case let .timestamp(ns): RFC3339.format(ns)
        case .null: ""
        }
    }

    /// The shortest text that reads back as the same double; `inf`, `-inf` and `nan` for the others.
    static func numberText(_ d: Double) -> String { d.description }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func tsvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\\" }) else { return s }
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    private func appendJSONString(_ s: String) {
        var t = s
        t.withUTF8 { b in if let base = b.baseAddress { sink.appendJSONString(base, count: b.count) } else { sink.append("\"\"" as StaticString) } }
    }

    private func appendJSON(_ v: Value) {
        switch v {
        case .null: sink.append("null" as StaticString)
        case let .integer(i): sink.append(integer: i)
        // JSON has no infinities or NaN: they are null (README, Queries).
        case let .number(d): if d.isFinite { sink.append(Self.numberText(d)) } else { sink.append("null" as StaticString) }
        case let .boolean(b): sink.append(b ? "true" as StaticString : "false")
        case let .timestamp(ns): appendJSONString(RFC3339.format(ns))
        case let .string(s): s.withUnsafeBufferPointer { b in
                if let base = b.baseAddress { sink.appendJSONString(base, count: b.count) } else { sink.append("\"\"" as StaticString) }
            }
        case let .json(s): sink.append(s)
        }
    }
}
