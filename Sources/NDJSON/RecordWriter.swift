import SegmentFormat

/// Writes decoded blocks back as NDJSON, one record per row: fields in column order, absent fields
/// left out, nulls as `null`, timestamps as RFC 3339 UTC, unknown fields spliced back from the
/// extra column. The inverse of `RecordParser`.
///
/// Hot path of `segcat cat`: every column is reduced to raw pointers once per block, then rows are
/// assembled with no allocation. Guarded by `tools/bench/format` (decode MB/s).
public struct RecordWriter {
    public let columns: [ColumnDescriptor]
    /// `"name":` for each column, JSON-escaped.
    private let keys: [[UInt8]]

    /// Writes the given columns; `columns[i]` is the descriptor of `chunks[i]` in `write`.
    public init(columns: [ColumnDescriptor]) {
        self.columns = columns
        keys = columns.map { c in
            let sink = ByteSink()
            c.nameBytes.withUnsafeBufferPointer { b in
                if let base = b.baseAddress { sink.appendJSONString(base, count: b.count) } else { sink.append(Array("\"\"".utf8)) }
            }
            sink.append(UInt8(ascii: ":"))
            return sink.bytes()
        }
    }

    /// Writes rows `rows` of a block whose columns were decoded into `chunks` (one per column).
    public func write(_ chunks: [DecodedChunk], rows: Range<Int>, to sink: ByteSink) throws(ByteSink.OutputClosed) {
        _ = try write(chunks, rows: rows, selection: nil, limit: Int.max, to: sink)
    }

    /// Writes the rows of `rows` whose `selection` byte is 1 (all of them when `selection` is nil),
    /// at most `limit`; returns how many it wrote.
    public func write(_ chunks: [DecodedChunk], rows: Range<Int>, selection: [UInt8]?, limit: Int,
                      to sink: ByteSink) throws(ByteSink.OutputClosed) -> Int {
        var failure: ByteSink.OutputClosed?
        var written = 0
        var cursors: [Cursor] = []
        cursors.reserveCapacity(chunks.count)
        withCursors(chunks, 0, &cursors) { cursors in
            do throws(ByteSink.OutputClosed) {
                written = try writeRows(&cursors, rows: rows, selection: selection, limit: limit, sink: sink)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return written
    }

    /// One column of a block, as raw pointers valid for the duration of `withCursors`' body.
    struct Cursor {
        enum Kind { case integer, timestamp, number, boolean, string, json, extra, dictionary, none }
        var kind: Kind
        var key: UnsafePointer<UInt8>
        var keyLength: Int
        var nulls: UnsafePointer<UInt8>?
        var absents: UnsafePointer<UInt8>?
        var integers: UnsafePointer<Int64>?
        var numbers: UnsafePointer<Double>?
        var booleans: UnsafePointer<UInt8>?
        var bytes: UnsafePointer<UInt8>?
        var offsets: UnsafePointer<UInt32>?
        var codes: UnsafePointer<UInt32>?
        /// Index of the next value (values are dense: rows with a value only).
        var next = 0
        /// The most bytes one value of this column takes as text in this block.
        var valueBound = 4
        var timestamps = TimestampText()
    }

    /// Builds a cursor for each chunk inside nested `withUnsafeBufferPointer` scopes (one level per
    /// column), so every pointer is valid while `body` runs.
    private func withCursors(_ chunks: [DecodedChunk], _ index: Int, _ cursors: inout [Cursor], _ body: (inout [Cursor]) -> Void) {
        guard index < chunks.count else { return body(&cursors) }
        let chunk = chunks[index]
        keys[index].withUnsafeBufferPointer { key in
            chunk.nulls.withOptionalPointer { nulls in
                chunk.absents.withOptionalPointer { absents in
                    var c = Cursor(kind: .none, key: key.baseAddress!, keyLength: key.count, nulls: nulls, absents: absents)
                    func recurse() {
                        cursors.append(c)
                        withCursors(chunks, index + 1, &cursors, body)
                        cursors.removeLast()
                    }
                    switch chunk.values {
                    case .none:
                        recurse()
                    case let .integers(v):
                        c.kind = columns[index].type == .timestamp ? .timestamp : .integer
                        c.valueBound = 34
                        v.withUnsafeBufferPointer { c.integers = $0.baseAddress; recurse() }
                    case let .numbers(v):
                        c.kind = .number
                        c.valueBound = 40
                        v.withUnsafeBufferPointer { c.numbers = $0.baseAddress; recurse() }
                    case let .booleans(v):
                        c.kind = .boolean
                        c.valueBound = 5
                        v.withUnsafeBufferPointer { c.booleans = $0.baseAddress; recurse() }
                    case let .strings(s):
                        c.kind = columns[index].type == .string ? .string : columns[index].type == .extra ? .extra : .json
                        let longest = (0..<s.count).reduce(0) { max($0, s.length($1)) }
                        c.valueBound = max(4, c.kind == .string ? 6 * longest + 2 : longest)
                        s.bytes.withUnsafeBufferPointer { b in
                            s.offsets.withUnsafeBufferPointer { o in
                                c.bytes = b.baseAddress
                                c.offsets = o.baseAddress
                                recurse()
                            }
                        }
                    case let .dictionary(entries, codes):
                        // Escape each entry once per block; rows then copy the escaped text.
                        let escaped = Self.escapedEntries(entries)
                        c.kind = .dictionary
                        c.valueBound = max(4, (0..<escaped.count).reduce(0) { max($0, escaped.length($1)) })
                        escaped.bytes.withUnsafeBufferPointer { b in
                            escaped.offsets.withUnsafeBufferPointer { o in
                                codes.withUnsafeBufferPointer { k in
                                    c.bytes = b.baseAddress
                                    c.offsets = o.baseAddress
                                    c.codes = k.baseAddress
                                    recurse()
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func escapedEntries(_ entries: StringValues) -> StringValues {
        let sink = ByteSink()
        var offsets: [UInt32] = [0]
        entries.bytes.withUnsafeBufferPointer { b in
            for i in 0..<entries.count {
                let r = entries.range(i)
                if let base = b.baseAddress, !r.isEmpty {
                    sink.appendJSONString(base + r.lowerBound, count: r.count)
                } else {
                    sink.append("\"\"" as StaticString)
                }
                offsets.append(UInt32(sink.count))
            }
        }
        return StringValues(bytes: sink.bytes(), offsets: offsets)
    }

    private func writeRows(_ cursors: inout [Cursor], rows: Range<Int>, selection: [UInt8]?, limit: Int,
                           sink: ByteSink) throws(ByteSink.OutputClosed) -> Int {
        let n = cursors.count
        // Skip the values of rows before the range.
        if rows.lowerBound > 0 {
            for c in 0..<n {
                for row in 0..<rows.lowerBound where !Self.bit(cursors[c].nulls, row) && !Self.bit(cursors[c].absents, row) {
                    cursors[c].next += 1
                }
            }
        }
        // One reservation a row: braces, newline, and per column a comma, its key and its widest value.
        let rowBound = cursors.reduce(3) { $0 + 1 + $1.keyLength + $1.valueBound }
        var written = 0
        try cursors.withUnsafeMutableBufferPointer { (cs) throws(ByteSink.OutputClosed) in
            for row in rows {
                if written >= limit { return }
                if let selection, selection[row] != 1 {
                    for c in 0..<n where !Self.bit(cs[c].nulls, row) && !Self.bit(cs[c].absents, row) { cs[c].next += 1 }
                    continue
                }
                written += 1
                let start = sink.reserve(rowBound)
                var p = start
                p[0] = UInt8(ascii: "{")
                p += 1
                for c in 0..<n {
                    if Self.bit(cs[c].absents, row) { continue }
                    if p != start + 1 {
                        p[0] = UInt8(ascii: ",")
                        p += 1
                    }
                    if cs[c].kind == .extra {
                        let i = cs[c].next
                        cs[c].next += 1
                        let from = Int(cs[c].offsets![i])
                        p = TextWriting.copy(cs[c].bytes! + from, Int(cs[c].offsets![i + 1]) - from, to: p)
                        continue
                    }
                    p = TextWriting.copy(cs[c].key, cs[c].keyLength, to: p)
                    if Self.bit(cs[c].nulls, row) {
                        p = TextWriting.copy(Self.null.utf8Start, 4, to: p)
                        continue
                    }
                    let i = cs[c].next
                    cs[c].next += 1
                    switch cs[c].kind {
                    case .integer:
                        p = TextWriting.integer(cs[c].integers![i], to: p)
                    case .timestamp:
                        p = cs[c].timestamps.write(cs[c].integers![i], to: p)
                    case .number:
                        var text = TextWriting.numberText(cs[c].numbers![i])
                        p = text.withUTF8 { TextWriting.copy($0.baseAddress!, $0.count, to: p) }
                    case .boolean:
                        p = cs[c].booleans![i] != 0 ? TextWriting.copy(Self.trueText.utf8Start, 4, to: p) : TextWriting.copy(Self.falseText.utf8Start, 5, to: p)
                    case .string:
                        let from = Int(cs[c].offsets![i])
                        p = TextWriting.jsonString(cs[c].bytes! + from, Int(cs[c].offsets![i + 1]) - from, to: p)
                    case .json:
                        let from = Int(cs[c].offsets![i])
                        p = TextWriting.copy(cs[c].bytes! + from, Int(cs[c].offsets![i + 1]) - from, to: p)
                    case .dictionary:
                        let code = Int(cs[c].codes![i])
                        let from = Int(cs[c].offsets![code])
                        p = TextWriting.copy(cs[c].bytes! + from, Int(cs[c].offsets![code + 1]) - from, to: p)
                    case .extra, .none:
                        break
                    }
                }
                p[0] = UInt8(ascii: "}")
                p[1] = UInt8(ascii: "\n")
                sink.advance(by: start.distance(to: p) + 2)
                try sink.flushIfFull()
            }
        }
        return written
    }

    @inline(__always)
    static func bit(_ bitmap: UnsafePointer<UInt8>?, _ row: Int) -> Bool {
        guard let bitmap else { return false }
        return bitmap[row >> 3] & (1 << UInt8(row & 7)) != 0
    }

    private static let null: StaticString = "null"
    private static let trueText: StaticString = "true"
    private static let falseText: StaticString = "false"


}

extension Optional where Wrapped == [UInt8] {
    /// Runs `body` with a pointer to the bytes, or nil when there are none.
    func withOptionalPointer<R>(_ body: (UnsafePointer<UInt8>?) -> R) -> R {
        switch self {
        case let .some(array): array.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: body(nil)
        }
    }
}
