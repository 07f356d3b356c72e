import SegmentFormat

/// One path's values in one block, as the chunks a query reads (spec: Comparing a path across
/// blocks). A path's type may differ from block to block and, in a json column, from row to row,
/// so a comparison reads the view that holds the literal's kind: there a row of another kind is
/// null (unknown, as SQL has it), while `IS NULL`, output and grouping read the raw view.
///
/// The values come from the block's shredded column for the path when it holds all of them (a
/// typed chunk, decoded alone), otherwise from the parent's rebuilt JSON text, one row at a time.
struct PathViews {
    enum View: Int, CaseIterable {
        /// Every value as it is: one type when all are of one kind, else JSON text.
        case raw = 0
        /// Integers and numbers (a number chunk when the block has both).
        case numeric
        case string
        case boolean
    }

    var chunks: [DecodedChunk]
    var types: [ColumnType]

    /// The shredded column that holds every value of the path in the block, with a type other than
    /// json: then the footer knows the path's type and stats. Nil when the values must be taken
    /// from the parent's text.
    static func typedColumn(_ meta: BlockMeta, parent: Int, keys: [[UInt8]]) -> Int? {
        let p = meta.chunks[parent]
        guard p.encoding == .shreddedJSON, p.stats == .residual(0),
              let k = FieldPath.shreddedIndex(meta, parent: parent, keys: keys), meta.shredded[k].column.type != .json else { return nil }
        return k
    }

    /// The views' types and footer entries as the footer alone tells them, for pruning: exact when
    /// a shredded column holds every value, or when the block's values hold the path nowhere; nil
    /// entries where the footer cannot tell.
    static func footer(_ meta: BlockMeta, parent: Int, keys: [[UInt8]]) -> [(ColumnType, ChunkMeta?)] {
        let p = meta.chunks[parent]
        let defaults: [ColumnType] = [.json, .number, .string, .boolean]
        var none = p
        none.stats = .none
        none.nullCount = 0
        none.absentCount = meta.rowCount
        if let k = typedColumn(meta, parent: parent, keys: keys) {
            let s = meta.shredded[k]
            return View.allCases.map { view in
                view == .raw || view == kind(of: s.column.type) ? (s.column.type, s.chunk) : (defaults[view.rawValue], none)
            }
        }
        // Every value shredded, and no column at or below the path: no row holds it.
        if p.encoding == .shreddedJSON, p.stats == .residual(0),
           !meta.shredded.contains(where: { $0.column.parent == parent && $0.column.path.starts(with: keys) }) {
            return defaults.map { ($0, none) }
        }
        return defaults.map { ($0, nil) }
    }

    private static func kind(of type: ColumnType) -> View {
        switch type {
        case .integer, .number: .numeric
        case .string: .string
        case .boolean: .boolean
        default: .raw
        }
    }

    /// The views of shredded column chunk `typed` of type `type`: itself where its kind fits, all
    /// null elsewhere.
    static func typed(_ chunk: DecodedChunk, type: ColumnType) -> PathViews {
        let defaults: [ColumnType] = [type, .number, .string, .boolean]
        let allNull = DecodedChunk(rowCount: chunk.rowCount, nulls: complement(chunk.absents, rows: chunk.rowCount), absents: chunk.absents,
                                   values: .none)
        let fits = kind(of: type)
        return PathViews(chunks: View.allCases.map { $0 == .raw || $0 == fits ? chunk : allNull },
                         types: View.allCases.map { $0 == fits ? type : defaults[$0.rawValue] })
    }

    /// The views of the path `keys` taken from each row's text in `parent` (a json value, or the
    /// members of the extra column when `members`).
    static func extract(_ parent: DecodedChunk, members: Bool, keys: [[UInt8]]) throws -> PathViews {
        let rows = parent.rowCount
        var leaves = Leaves(rows: rows)
        let texts: StringValues
        switch parent.values {
        case let .strings(s): texts = s
        case let .dictionary(entries, codes):
            var s = StringValues()
            for c in codes { s.append(entries[Int(c)]) }
            texts = s
        default: texts = StringValues()
        }
        var v = 0
        try texts.bytes.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else {
                for _ in 0..<rows { leaves.add(.absent) }
                return
            }
            for r in 0..<rows {
                if parent.isNull(r) || parent.isAbsent(r) {
                    leaves.add(.absent)
                    continue
                }
                let range = texts.range(v)
                v += 1
                var s = JSONScanner(base + range.lowerBound, count: range.count)
                do {
                    try leaves.add(find(&s, members: members, keys: keys[...]), base + range.lowerBound)
                } catch {
                    throw FormatError("a json value does not parse where path \(FieldPath.text(keys)) is read (\(error))")
                }
            }
        }
        return leaves.views()
    }

    /// Where the value at `keys` is in the text `s` scans: its bytes, or nil when it is not there.
    private static func find(_ s: inout JSONScanner, members: Bool, keys: ArraySlice<[UInt8]>) throws(JSONScanner.Failure) -> Range<Int>? {
        s.skipSpace()
        if !members {
            guard s.current == UInt8(ascii: "{") else { return nil }
            s.i += 1
            s.skipSpace()
            if s.current == UInt8(ascii: "}") { return nil }
        } else if s.atEnd {
            return nil
        }
        var key: [UInt8] = []
        while true {
            s.skipSpace()
            let k = try s.scanString()
            key.removeAll(keepingCapacity: true)
            if k.escaped { JSONScanner.unescape(s.p, k.start, k.end, into: &key) } else { key.append(contentsOf: UnsafeBufferPointer(start: s.p + k.start, count: k.end - k.start)) }
            s.skipSpace()
            try s.expect(UInt8(ascii: ":"), "':'")
            s.skipSpace()
            guard let wanted = keys.first else { return nil }
            if key == wanted {
                if keys.count == 1 {
                    let start = s.i
                    try s.skipValue()
                    return start..<s.i
                }
                return try find(&s, members: false, keys: keys.dropFirst())
            }
            try s.skipValue()
            s.skipSpace()
            if s.current == UInt8(ascii: ",") {
                s.i += 1
                continue
            }
            return nil
        }
    }

    /// Bitmap of the rows not set in `bits` (all rows when nil).
    private static func complement(_ bits: [UInt8]?, rows: Int) -> [UInt8]? {
        guard rows > 0 else { return nil }
        var out = bits.map { $0.map { ~$0 } } ?? [UInt8](repeating: 0xFF, count: (rows + 7) / 8)
        if rows % 8 != 0 { out[out.count - 1] &= UInt8((1 << (rows % 8)) - 1) }
        return out
    }
}

/// The leaves of one path over a block's rows, by kind, while `PathViews.extract` reads them.
private struct Leaves {
    enum Kind: UInt8 { case absent = 0, null, integer, number, string, boolean, json }

    let rows: Int
    var kinds: [Kind] = []
    var integers: [Int64] = []
    var numbers: [Double] = []
    var strings = StringValues()
    var booleans: [UInt8] = []
    /// Each present value's JSON text, for the raw view of a block of mixed kinds.
    var texts = StringValues()
    var seen = Set<UInt8>()

    init(rows: Int) {
        self.rows = rows
        kinds.reserveCapacity(rows)
    }

    mutating func add(_ kind: Kind) { kinds.append(kind) }

    mutating func add(_ range: Range<Int>?, _ base: UnsafePointer<UInt8>) throws(JSONScanner.Failure) {
        guard let range else { return add(.absent) }
        let text = UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
        var s = JSONScanner(base + range.lowerBound, count: range.count)
        let kind: Kind
        switch s.current {
        case UInt8(ascii: "n"): kind = .null
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            kind = .boolean
            booleans.append(s.current == UInt8(ascii: "t") ? 1 : 0)
        case UInt8(ascii: "\""):
            kind = .string
            let k = try s.scanString()
            var bytes: [UInt8] = []
            if k.escaped { JSONScanner.unescape(s.p, k.start, k.end, into: &bytes) } else { bytes.append(contentsOf: UnsafeBufferPointer(start: s.p + k.start, count: k.end - k.start)) }
            strings.append(bytes)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let n = try s.scanNumber()
            if n.isInteger, let i = s.integerValue(n) {
                kind = .integer
                integers.append(i)
            } else {
                kind = .number
                numbers.append(s.doubleValue(n))
            }
        default: kind = .json
        }
        kinds.append(kind)
        if kind != .null {
            texts.append(text)
            seen.insert(kind.rawValue)
        }
    }

    func views() -> PathViews {
        let absents = bitmap { $0 == .absent }
        func view(_ present: (Kind) -> Bool, _ values: ColumnValues) -> DecodedChunk {
            DecodedChunk(rowCount: rows, nulls: bitmap { $0 != .absent && !present($0) }, absents: absents, values: values)
        }
        let onlyIntegers = !seen.contains(Kind.number.rawValue)
        let numeric: ColumnValues
        if onlyIntegers {
            numeric = integers.isEmpty ? .none : .integers(integers)
        } else {
            // Integers and numbers in one block compare as numbers, in row order.
            var all: [Double] = []
            var i = 0, n = 0
            for k in kinds where k == .integer || k == .number {
                if k == .integer { all.append(Double(integers[i])); i += 1 } else { all.append(numbers[n]); n += 1 }
            }
            numeric = .numbers(all)
        }
        let numericView = view({ $0 == .integer || $0 == .number }, numeric)
        let stringView = view({ $0 == .string }, strings.count == 0 ? .none : .strings(strings))
        let booleanView = view({ $0 == .boolean }, booleans.isEmpty ? .none : .booleans(booleans))
        let raw: DecodedChunk
        let rawType: ColumnType
        switch seen.count == 1 ? seen.first.flatMap(Kind.init) : nil {
        case .integer?: (raw, rawType) = (numericView, .integer)
        case .number?: (raw, rawType) = (numericView, .number)
        case .string?: (raw, rawType) = (stringView, .string)
        case .boolean?: (raw, rawType) = (booleanView, .boolean)
        default:
            // Mixed kinds, or objects and arrays: each value's own JSON text (none: no values).
            rawType = .json
            raw = view({ $0 != .absent && $0 != .null }, texts.count == 0 ? .none : .strings(texts))
        }
        return PathViews(chunks: [raw, numericView, stringView, booleanView],
                         types: [rawType, onlyIntegers ? .integer : .number, .string, .boolean])
    }

    private func bitmap(_ test: (Kind) -> Bool) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: (rows + 7) / 8)
        var any = false
        for (r, k) in kinds.enumerated() where test(k) {
            out[r >> 3] |= 1 << UInt8(r & 7)
            any = true
        }
        return any ? out : nil
    }
}

extension FieldPath {
    /// `keys` as a query names them, quoted where they need it.
    static func text(_ keys: [[UInt8]]) -> String {
        keys.map { ShreddedColumn.quoted(String(decoding: $0, as: UTF8.self)) }.joined(separator: ".")
    }
}
