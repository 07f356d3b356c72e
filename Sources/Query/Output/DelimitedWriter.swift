import NDJSON
import SegmentFormat

/// Writes a block's selected rows as CSV or TSV lines straight from its decoded columns, in the
/// conventions of `OutputFormat.csv` and `.tsv` (the same text `ResultWriter` gives a `Value`).
///
/// Hot path of `segcat --format csv|tsv` over many rows, built like `RecordWriter`: every column is
/// reduced to raw pointers once per block, a dictionary column's entries are escaped once per
/// block, and each field is written into memory reserved for it, with no allocation (but for
/// doubles' shortest text). Guarded by `tools/bench/query` (Q9, all rows as CSV).
struct DelimitedWriter {
    let separator: UInt8
    let csv: Bool

    init(format: OutputFormat) {
        csv = format == .csv
        separator = csv ? UInt8(ascii: ",") : UInt8(ascii: "\t")
    }

    /// One output column of a block, as raw pointers valid inside `withCursors`' body.
    private struct Cursor {
        enum Kind { case integer, timestamp, number, boolean, string, dictionary, none }
        var kind: Kind = .none
        var nulls: UnsafePointer<UInt8>?
        var absents: UnsafePointer<UInt8>?
        var integers: UnsafePointer<Int64>?
        var numbers: UnsafePointer<Double>?
        var booleans: UnsafePointer<UInt8>?
        /// Strings' bytes and offsets; for a dictionary, its escaped entries'.
        var bytes: UnsafePointer<UInt8>?
        var offsets: UnsafePointer<UInt32>?
        var codes: UnsafePointer<UInt32>?
        var next = 0
        var timestamps = TimestampText()

        @inline(__always)
        func hasValue(_ r: Int) -> Bool {
            let byte = r >> 3, bit = UInt8(1) << UInt8(r & 7)
            if let nulls, nulls[byte] & bit != 0 { return false }
            if let absents, absents[byte] & bit != 0 { return false }
            return kind != .none
        }
    }

    /// Writes the rows whose `selection` byte is 1 (all when nil), at most `limit`; returns how many.
    func write(_ chunks: [(chunk: DecodedChunk, type: ColumnType)?], rows: Int, selection: [UInt8]?, limit: Int, to sink: ByteSink) -> Int {
        // Escaped dictionary entries, kept alive while the cursors point into them.
        let escaped: [StringValues?] = chunks.map { c in
            guard case let .dictionary(entries, _)? = c?.chunk.values else { return nil }
            return escape(entries)
        }
        var written = 0
        var cursors: [Cursor] = []
        cursors.reserveCapacity(chunks.count)
        withCursors(chunks, escaped, 0, &cursors) { cursors in
            written = writeRows(&cursors, rows: rows, selection: selection, limit: limit, sink: sink)
        }
        return written
    }

    private func writeRows(_ cursors: inout [Cursor], rows: Int, selection: [UInt8]?, limit: Int, sink: ByteSink) -> Int {
        var written = 0
        cursors.withUnsafeMutableBufferPointer { cs in
            for r in 0..<rows {
                guard written < limit else { break }
                if let selection, selection[r] != 1 {
                    for c in cs.indices where cs[c].hasValue(r) { cs[c].next += 1 }
                    continue
                }
                let start = sink.count
                for c in cs.indices {
                    // Each cell writes the separator before it, into the room it reserves.
                    let lead: UInt8? = c > 0 ? separator : nil
                    guard cs[c].hasValue(r) else {
                        if let lead { sink.append(lead) }
                        continue
                    }
                    appendCell(&cs[c], after: lead, to: sink)
                }
                // One empty field alone would be an empty line, which CSV readers skip.
                if csv && cs.count == 1 && sink.count == start { sink.append("\"\"" as StaticString) }
                sink.append(UInt8(ascii: "\n"))
                written += 1
            }
        }
        return written
    }

    @inline(__always)
    private func appendCell(_ c: inout Cursor, after lead: UInt8?, to sink: ByteSink) {
        let i = c.next
        c.next += 1
        @inline(__always) func room(_ n: Int) -> UnsafeMutablePointer<UInt8> {
            let p = sink.reserve(n + 1)
            guard let lead else { return p }
            p[0] = lead
            return p + 1
        }
        @inline(__always) func done(_ start: UnsafeMutablePointer<UInt8>, _ end: UnsafeMutablePointer<UInt8>) {
            sink.advance(by: start.distance(to: end) + (lead == nil ? 0 : 1))
        }
        switch c.kind {
        case .integer:
            let p = room(20)
            done(p, TextWriting.integer(c.integers![i], to: p))
        case .timestamp:
            let p = room(32)
            done(p, c.timestamps.writeUnquoted(c.integers![i], to: p))
        case .number:
            if let lead { sink.append(lead) }
            sink.append(ResultWriter.numberText(c.numbers![i]))
        case .boolean:
            let text: StaticString = c.booleans![i] != 0 ? "true" : "false"
            let p = room(5)
            done(p, TextWriting.copy(text.utf8Start, text.utf8CodeUnitCount, to: p))
        case .dictionary:
            let code = Int(c.codes![i])
            let start = Int(c.offsets![code]), end = Int(c.offsets![code + 1])
            let p = room(end - start)
            done(p, end > start ? TextWriting.copy(c.bytes! + start, end - start, to: p) : p)
        case .string:
            let start = Int(c.offsets![i]), end = Int(c.offsets![i + 1])
            let p = room(2 * (end - start) + 2)
            done(p, end > start ? writeText(UnsafeBufferPointer(start: c.bytes! + start, count: end - start), to: p) : p)
        case .none:
            if let lead { sink.append(lead) }
        }
    }

    /// Every entry escaped for the format.
    private func escape(_ entries: StringValues) -> StringValues {
        let scratch = ByteSink(flushThreshold: .max)
        var out = StringValues()
        entries.bytes.withUnsafeBufferPointer { b in
            for i in 0..<entries.count {
                scratch.reset()
                let value = UnsafeBufferPointer(rebasing: b[entries.range(i)])
                let p = scratch.reserve(2 * value.count + 2)
                scratch.advance(by: p.distance(to: writeText(value, to: p)))
                out.append(scratch.bytes())
            }
        }
        return out
    }

    /// A string field at `p` (room for `2 * count + 2` bytes): as is when it needs nothing; CSV
    /// quotes it when it holds a separator, quote or line break (doubling quotes); TSV escapes tab,
    /// newline, carriage return and backslash. Returns the position after it.
    private func writeText(_ s: UnsafeBufferPointer<UInt8>, to p: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        guard let base = s.baseAddress, !s.isEmpty else { return p }
        var plain = true
        for b in s where b == separator || b == 0x0A || b == 0x0D || (csv ? b == 0x22 : b == 0x5C) {
            plain = false
            break
        }
        if plain { return TextWriting.copy(base, s.count, to: p) }
        var k = 0
        if csv {
            p[k] = UInt8(ascii: "\""); k += 1
            for b in s {
                if b == 0x22 { p[k] = b; k += 1 }
                p[k] = b; k += 1
            }
            p[k] = UInt8(ascii: "\""); k += 1
            return p + k
        }
        for b in s {
            let escape: UInt8? = switch b {
            case 0x09: UInt8(ascii: "t")
            case 0x0A: UInt8(ascii: "n")
            case 0x0D: UInt8(ascii: "r")
            case 0x5C: UInt8(ascii: "\\")
            default: nil
            }
            if let escape {
                p[k] = UInt8(ascii: "\\"); p[k + 1] = escape; k += 2
            } else {
                p[k] = b; k += 1
            }
        }
        return p + k
    }

    /// Builds a cursor for each column inside nested `withUnsafeBufferPointer` scopes (one level
    /// per column), so every pointer is valid while `body` runs.
    private func withCursors(_ chunks: [(chunk: DecodedChunk, type: ColumnType)?], _ escaped: [StringValues?], _ index: Int,
                             _ cursors: inout [Cursor], _ body: (inout [Cursor]) -> Void) {
        guard index < chunks.count else { return body(&cursors) }
        guard let (chunk, type) = chunks[index] else {
            cursors.append(Cursor())
            withCursors(chunks, escaped, index + 1, &cursors, body)
            return
        }
        chunk.nulls.withOptionalPointer { nulls in
            chunk.absents.withOptionalPointer { absents in
                var c = Cursor(nulls: nulls, absents: absents)
                func recurse() {
                    cursors.append(c)
                    withCursors(chunks, escaped, index + 1, &cursors, body)
                }
                switch chunk.values {
                case .none:
                    recurse()
                case let .integers(v):
                    c.kind = type == .timestamp ? .timestamp : .integer
                    v.withUnsafeBufferPointer { c.integers = $0.baseAddress; recurse() }
                case let .numbers(v):
                    c.kind = .number
                    v.withUnsafeBufferPointer { c.numbers = $0.baseAddress; recurse() }
                case let .booleans(v):
                    c.kind = .boolean
                    v.withUnsafeBufferPointer { c.booleans = $0.baseAddress; recurse() }
                case let .strings(v):
                    c.kind = .string
                    v.bytes.withUnsafeBufferPointer { b in
                        v.offsets.withUnsafeBufferPointer { o in c.bytes = b.baseAddress; c.offsets = o.baseAddress; recurse() }
                    }
                case let .dictionary(_, codes):
                    guard let e = escaped[index] else { return recurse() }
                    c.kind = .dictionary
                    e.bytes.withUnsafeBufferPointer { b in
                        e.offsets.withUnsafeBufferPointer { o in
                            codes.withUnsafeBufferPointer { k in
                                c.bytes = b.baseAddress; c.offsets = o.baseAddress; c.codes = k.baseAddress
                                recurse()
                            }
                        }
                    }
                }
            }
        }
    }
}

private extension Optional where Wrapped == [UInt8] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<UInt8>?) -> R) -> R {
        guard let self else { return body(nil) }
        return self.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
