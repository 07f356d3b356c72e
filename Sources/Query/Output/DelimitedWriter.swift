import NDJSON
import SegmentFormat

/// Writes a block's selected rows as CSV or TSV lines straight from its decoded columns, in the
/// conventions of `OutputFormat.csv` and `.tsv` (the same text `ResultWriter` gives a `Value`).
///
/// Hot path of `segcat --format csv|tsv` over many rows: no `Value` or `String` per cell (but for
/// doubles), a dictionary column's entries escaped once per block, one reservation a field.
/// Guarded by `tools/bench/query` (all rows as CSV).
struct DelimitedWriter {
    let separator: UInt8
    let csv: Bool

    init(format: OutputFormat) {
        csv = format == .csv
        separator = csv ? UInt8(ascii: ",") : UInt8(ascii: "\t")
    }

    /// One output column of a block.
    private struct Column {
        let chunk: DecodedChunk?
        let type: ColumnType
        /// A dictionary's entries, escaped for the format.
        let escapedEntries: StringValues?
        var next = 0
    }

    /// Writes the rows whose `selection` byte is 1 (all when nil), at most `limit`; returns how many.
    func write(_ chunks: [(chunk: DecodedChunk, type: ColumnType)?], rows: Int, selection: [UInt8]?, limit: Int, to sink: ByteSink) -> Int {
        var columns = chunks.map { c -> Column in
            guard let c else { return Column(chunk: nil, type: .string, escapedEntries: nil) }
            var escaped: StringValues?
            if case let .dictionary(entries, _) = c.chunk.values {
                var out = StringValues()
                for i in 0..<entries.count {
                    entries.bytes.withUnsafeBufferPointer { b in
                        let scratch = ByteSink(flushThreshold: .max)
                        appendText(UnsafeBufferPointer(rebasing: b[entries.range(i)]), to: scratch)
                        out.append(scratch.bytes())
                    }
                }
                escaped = out
            }
            return Column(chunk: c.chunk, type: c.type, escapedEntries: escaped)
        }
        var written = 0
        for r in 0..<rows {
            guard written < limit else { break }
            let selected = selection.map { $0[r] == 1 } ?? true
            if !selected {
                for c in columns.indices {
                    if let chunk = columns[c].chunk, !(chunk.isNull(r) || chunk.isAbsent(r)) { columns[c].next += 1 }
                }
                continue
            }
            let start = sink.count
            for c in columns.indices {
                if c > 0 { sink.append(separator) }
                appendCell(&columns[c], row: r, to: sink)
            }
            // One empty field alone would be an empty line, which CSV readers skip.
            if csv && columns.count == 1 && sink.count == start { sink.append("\"\"" as StaticString) }
            sink.append(UInt8(ascii: "\n"))
            written += 1
        }
        return written
    }

    @inline(__always)
    private func appendCell(_ column: inout Column, row r: Int, to sink: ByteSink) {
        guard let chunk = column.chunk, !(chunk.isNull(r) || chunk.isAbsent(r)) else { return }
        let i = column.next
        column.next += 1
        switch chunk.values {
        case let .integers(v):
            if column.type == .timestamp {
                let p = sink.reserve(40)
                sink.advance(by: RFC3339.format(v[i], to: p))
            } else {
                sink.append(integer: v[i])
            }
        case let .numbers(v): sink.append(ResultWriter.numberText(v[i]))
        case let .booleans(v): sink.append(v[i] != 0 ? "true" as StaticString : "false")
        case let .dictionary(_, codes):
            guard let e = column.escapedEntries else { return }
            let range = e.range(Int(codes[i]))
            e.bytes.withUnsafeBufferPointer { b in
                if let base = b.baseAddress, !range.isEmpty { sink.append(base + range.lowerBound, count: range.count) }
            }
        case let .strings(v):
            v.bytes.withUnsafeBufferPointer { b in appendText(UnsafeBufferPointer(rebasing: b[v.range(i)]), to: sink) }
        case .none:
            return
        }
    }

    /// A string field: as is when it needs nothing; CSV quotes it when it holds a separator, quote or
    /// line break (doubling quotes); TSV escapes tab, newline, carriage return and backslash.
    private func appendText(_ s: UnsafeBufferPointer<UInt8>, to sink: ByteSink) {
        var plain = true
        for b in s where b == separator || b == 0x0A || b == 0x0D || (csv ? b == 0x22 : b == 0x5C) {
            plain = false
            break
        }
        if plain {
            if let base = s.baseAddress, !s.isEmpty { sink.append(base, count: s.count) }
            return
        }
        if csv {
            sink.append(UInt8(ascii: "\""))
            for b in s {
                if b == 0x22 { sink.append(UInt8(ascii: "\"")) }
                sink.append(b)
            }
            sink.append(UInt8(ascii: "\""))
            return
        }
        for b in s {
            switch b {
            case 0x09: sink.append("\\t" as StaticString)
            case 0x0A: sink.append("\\n" as StaticString)
            case 0x0D: sink.append("\\r" as StaticString)
            case 0x5C: sink.append("\\\\" as StaticString)
            default: sink.append(b)
            }
        }
    }
}
