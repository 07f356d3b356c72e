import SegmentFormat

/// Groups and aggregates one block's selected rows, a column at a time, into a `GroupTable` that
/// the runner merges by key across blocks (each block is one thread's table; merging at the end
/// keeps the result independent of thread timing).
///
/// Optimised for few groups over many rows (`--group-by carrier,month`): each group-by column is
/// first turned into small per-row ids (a dictionary column's codes as they are; other columns
/// through a hash table of the block's distinct values), the ids are combined into one group
/// index a row, and then every aggregate runs as one tight loop over its column's dense values,
/// into plain arrays indexed by group. No `Value` is built per row: keys become values once per
/// group, and `count(distinct x)` over a dictionary column collects codes, turned into values
/// once per distinct code. Guarded by `tools/bench/query` (group-by and count(distinct) queries).
struct BlockAggregation {
    /// One column of the block with its type; nil for a field the segment lacks.
    typealias Column = (chunk: DecodedChunk, type: ColumnType)

    let rows: Int
    /// Group index of each row, -1 for rows the condition did not select.
    private(set) var group: [Int32]
    /// Key values of each group, in first-seen order.
    private(set) var keys: [[Value]] = []

    /// Assigns the selected rows (`selection[r] == 1`, all when nil) to groups by `keyColumns`.
    init(keyColumns: [Column?], selection: [UInt8]?, rows: Int) {
        self.rows = rows
        let ids = keyColumns.map { KeyIDs($0, rows: rows, selection: selection) }
        if ids.isEmpty {
            group = selection.map { $0.map { $0 == 1 ? 0 : -1 } } ?? [Int32](repeating: 0, count: rows)
            if group.contains(0) { keys = [[]] }
            return
        }
        // Mixed-radix combination of the ids; dense when the product of cardinalities is small.
        var product = 1
        var overflow = false
        for k in ids {
            let (p, o) = product.multipliedReportingOverflow(by: k.cardinality)
            product = p
            overflow = overflow || o
        }
        group = [Int32](repeating: -1, count: rows)
        if !overflow && product <= max(1 << 16, 4 * rows) {
            var slot = [Int32](repeating: -1, count: product)
            // The combined id of each row, column by column (one pass per further key column; 32
            // bits, since the product is small, so that the loop runs on vector registers).
            var combined = ids[0].ids
            for k in ids.dropFirst() {
                let cardinality = Int32(k.cardinality)
                k.ids.withUnsafeBufferPointer { kid in
                    combined.withUnsafeMutableBufferPointer { c in
                        for r in 0..<rows { c[r] = c[r] &* cardinality &+ kid[r] }
                    }
                }
            }
            var keys: [[Value]] = []
            combined.withUnsafeBufferPointer { combined in
                slot.withUnsafeMutableBufferPointer { slots in
                    group.withUnsafeMutableBufferPointer { groups in
                        @inline(__always) func assign(_ r: Int) {
                            let c = Int(combined[r])
                            if slots[c] < 0 {
                                slots[c] = Int32(keys.count)
                                keys.append(ids.map { $0.value(Int($0.ids[r])) })
                            }
                            groups[r] = slots[c]
                        }
                        if let selection {
                            selection.withUnsafeBufferPointer { selected in
                                for r in 0..<rows where selected[r] == 1 { assign(r) }
                            }
                        } else {
                            for r in 0..<rows { assign(r) }
                        }
                    }
                }
            }
            self.keys = keys
        } else {
            var index: [[Int32]: Int32] = [:]
            for r in 0..<rows where selection.map({ $0[r] == 1 }) ?? true {
                let key = ids.map { $0.ids[r] }
                if let g = index[key] {
                    group[r] = g
                } else {
                    let g = Int32(keys.count)
                    index[key] = g
                    keys.append(ids.map { $0.value(Int($0.ids[r])) })
                    group[r] = g
                }
            }
        }
    }

    /// The block's groups with one accumulator per aggregate, from the aggregates' columns.
    func table(_ specs: [AggregateSpec], columns: [Column?]) -> GroupTable {
        var accumulators = [[Accumulator]](repeating: specs.map { Accumulator($0.function) }, count: keys.count)
        for (a, spec) in specs.enumerated() {
            let results = aggregate(spec, columns[a])
            for g in 0..<keys.count { accumulators[g][a] = results[g] }
        }
        var table = GroupTable()
        for (g, key) in keys.enumerated() {
            table.order.append(key)
            table.groups[key] = accumulators[g]
        }
        return table
    }

    /// One aggregate over its column, per group.
    private func aggregate(_ spec: AggregateSpec, _ column: Column?) -> [Accumulator] {
        var out = [Accumulator](repeating: Accumulator(spec.function), count: keys.count)
        let groupCount = keys.count
        // count(*) counts rows; every other aggregate skips rows without a value (and a missing
        // field has none).
        if spec.field == nil {
            var counts = [Int](repeating: 0, count: groupCount)
            group.withUnsafeBufferPointer { groups in
                counts.withUnsafeMutableBufferPointer { c in
                    for r in 0..<rows where groups[r] >= 0 { c[Int(groups[r])] &+= 1 }
                }
            }
            for g in 0..<groupCount { out[g].count = counts[g] }
            return out
        }
        guard let (chunk, type) = column else { return out }
        let valueIndex = ValueIndex(chunk)
        var counts = [Int](repeating: 0, count: groupCount)
        switch chunk.values {
        case .none:
            return out
        case let .integers(values):
            switch spec.function {
            case .sum, .avg:
                var sums = [Int128](repeating: 0, count: groupCount)
                Self.withBuffers(&counts, &sums, values) { c, s, vs in
                    valueIndex.forEach(group) { g, v in c[g] &+= 1; s[g] += Int128(vs[v]) }
                }
                for g in 0..<groupCount { out[g].count = counts[g]; out[g].integerSum = sums[g] }
            case .min, .max:
                var best = [Int64](repeating: 0, count: groupCount)
                let isMin = spec.function == .min
                Self.withBuffers(&counts, &best, values) { counts, best, vs in
                    valueIndex.forEach(group) { g, v in
                        let x = vs[v]
                        if counts[g] == 0 || (isMin ? x < best[g] : x > best[g]) { best[g] = x }
                        counts[g] &+= 1
                    }
                }
                for g in 0..<groupCount where counts[g] > 0 {
                    out[g].count = counts[g]
                    out[g].extreme = type == .timestamp ? .timestamp(best[g]) : .integer(best[g])
                }
            case .count:
                counts.withUnsafeMutableBufferPointer { c in valueIndex.forEach(group) { g, _ in c[g] &+= 1 } }
                for g in 0..<groupCount { out[g].count = counts[g] }
            case .countDistinct:
                var sets = [Set<Int64>](repeating: [], count: groupCount)
                valueIndex.forEach(group) { g, v in counts[g] += 1; sets[g].insert(values[v]) }
                for g in 0..<groupCount {
                    out[g].count = counts[g]
                    out[g].distinct = Set(sets[g].map { type == .timestamp ? .timestamp($0) : .integer($0) })
                }
            }
        case let .numbers(values):
            switch spec.function {
            case .sum, .avg:
                var sums = [Double](repeating: 0, count: groupCount)
                Self.withBuffers(&counts, &sums, values) { c, s, vs in
                    valueIndex.forEach(group) { g, v in c[g] &+= 1; s[g] += vs[v] }
                }
                for g in 0..<groupCount where counts[g] > 0 {
                    out[g].count = counts[g]
                    out[g].doubleSum = sums[g]
                    out[g].sawNumber = true
                }
            case .min, .max:
                var best = [Double](repeating: 0, count: groupCount)
                let isMin = spec.function == .min
                Self.withBuffers(&counts, &best, values) { counts, best, vs in
                    valueIndex.forEach(group) { g, v in
                        let x = vs[v]
                        if counts[g] == 0 || (isMin ? x < best[g] : x > best[g]) { best[g] = x }
                        counts[g] &+= 1
                    }
                }
                for g in 0..<groupCount where counts[g] > 0 { out[g].count = counts[g]; out[g].extreme = .number(best[g]) }
            case .count:
                counts.withUnsafeMutableBufferPointer { c in valueIndex.forEach(group) { g, _ in c[g] &+= 1 } }
                for g in 0..<groupCount { out[g].count = counts[g] }
            case .countDistinct:
                // -0.0 and 0.0 are one value, as in DuckDB (Double's hashing already says so).
                var sets = [Set<Double>](repeating: [], count: groupCount)
                valueIndex.forEach(group) { g, v in counts[g] += 1; sets[g].insert(values[v]) }
                for g in 0..<groupCount { out[g].count = counts[g]; out[g].distinct = Set(sets[g].map { .number($0) }) }
            }
        case let .dictionary(entries, codes):
            // Entries are sorted, so the smallest code is the smallest string.
            switch spec.function {
            case .min, .max:
                var best = [UInt32](repeating: 0, count: groupCount)
                let isMin = spec.function == .min
                Self.withBuffers(&counts, &best, codes) { counts, best, vs in
                    valueIndex.forEach(group) { g, v in
                        let c = vs[v]
                        if counts[g] == 0 || (isMin ? c < best[g] : c > best[g]) { best[g] = c }
                        counts[g] &+= 1
                    }
                }
                for g in 0..<groupCount where counts[g] > 0 {
                    out[g].count = counts[g]
                    out[g].extreme = .string(Array(entries[Int(best[g])]))
                }
            case .countDistinct:
                // A flag per group and code, while that stays small; each code seen adds its
                // entry's bytes once.
                let n = entries.count
                var seen = [Bool](repeating: false, count: groupCount * n <= 1 << 22 ? groupCount * n : 0)
                var sets = [Set<UInt32>](repeating: [], count: seen.isEmpty ? groupCount : 0)
                if seen.isEmpty {
                    valueIndex.forEach(group) { g, v in counts[g] += 1; sets[g].insert(codes[v]) }
                } else {
                    Self.withBuffers(&counts, &seen, codes) { c, flags, cs in
                        valueIndex.forEach(group) { g, v in c[g] &+= 1; flags[g &* n &+ Int(cs[v])] = true }
                    }
                }
                entries.bytes.withUnsafeBufferPointer { b in
                    for g in 0..<groupCount {
                        out[g].count = counts[g]
                        let members: [Int] = seen.isEmpty ? sets[g].map { Int($0) } : (0..<n).filter { seen[g * n + $0] }
                        for c in members { out[g].distinctStrings.insert(UnsafeBufferPointer(rebasing: b[entries.range(c)])) }
                    }
                }
            case .count, .sum, .avg:
                counts.withUnsafeMutableBufferPointer { c in valueIndex.forEach(group) { g, _ in c[g] &+= 1 } }
                for g in 0..<groupCount { out[g].count = counts[g] }
            }
        case .booleans, .strings:
            // Rare in aggregates: per value, through `Accumulator.add`.
            var cursor = ColumnCursor(chunk, type: type)
            for r in 0..<rows {
                let g = group[r]
                if g < 0 { cursor.skip(row: r); continue }
                out[Int(g)].add(cursor.value(row: r))
            }
        }
        return out
    }
}

extension BlockAggregation {
    /// Runs `body` on unsafe buffers of two per-group arrays and a column's values (the loops
    /// that run once a row, without the arrays' uniqueness and bounds checks).
    @inline(__always)
    static func withBuffers<A, B, V>(_ a: inout [A], _ b: inout [B], _ values: [V],
                                     _ body: (UnsafeMutableBufferPointer<A>, UnsafeMutableBufferPointer<B>, UnsafeBufferPointer<V>) -> Void) {
        a.withUnsafeMutableBufferPointer { a in
            b.withUnsafeMutableBufferPointer { b in
                values.withUnsafeBufferPointer { v in body(a, b, v) }
            }
        }
    }
}

/// Per-row ids of one group-by column (0 for null or absent) and the value each id stands for.
private struct KeyIDs {
    var ids: [Int32]
    var cardinality: Int
    private var table: [Value]
    private var entries: StringValues?

    init(_ column: BlockAggregation.Column?, rows: Int, selection: [UInt8]?) {
        ids = [Int32](repeating: 0, count: rows)
        table = [.null]
        entries = nil
        cardinality = 1
        guard let (chunk, type) = column else { return }
        let valueIndex = ValueIndex(chunk)
        switch chunk.values {
        case let .dictionary(e, codes):
            entries = e
            cardinality = e.count + 1
            ids = codes.withUnsafeBufferPointer { cs in valueIndex.ids(rows: rows) { Int32(truncatingIfNeeded: cs[$0]) &+ 1 } }
        case let .integers(values):
            if let dense = Self.denseIDs(values, valueIndex: valueIndex, type: type, rows: rows) {
                (ids, table) = dense
                cardinality = table.count
                return
            }
            var index: [Int64: Int32] = [:]
            valueIndex.forEachRow(selection) { r, v in
                let x = values[v]
                if let id = index[x] { ids[r] = id; return }
                let id = Int32(table.count)
                index[x] = id
                table.append(type == .timestamp ? .timestamp(x) : .integer(x))
                ids[r] = id
            }
        case let .numbers(values):
            var index: [Double: Int32] = [:]
            valueIndex.forEachRow(selection) { r, v in
                let x = values[v]
                if let id = index[x] { ids[r] = id; return }
                let id = Int32(table.count)
                index[x] = id
                table.append(.number(x))
                ids[r] = id
            }
        case let .booleans(values):
            table = [.null, .boolean(false), .boolean(true)]
            ids = values.withUnsafeBufferPointer { vs in valueIndex.ids(rows: rows) { Int32(vs[$0]) &+ 1 } }
        case let .strings(values):
            var index: [[UInt8]: Int32] = [:]
            valueIndex.forEachRow(selection) { r, v in
                let x = Array(values[v])
                if let id = index[x] { ids[r] = id; return }
                let id = Int32(table.count)
                index[x] = id
                table.append(type == .string ? .string(x) : .json(x))
                ids[r] = id
            }
        case .none:
            return
        }
        if entries == nil { cardinality = table.count }
    }

    /// Ids straight from the values when their range is small (a month, an hour, a status code):
    /// an array indexed by `value - min` instead of a hash table. Nil when the range is wide.
    private static func denseIDs(_ values: [Int64], valueIndex: ValueIndex, type: ColumnType, rows: Int) -> ([Int32], [Value])? {
        guard let lo = values.min(), let hi = values.max() else { return nil }
        let (span, overflow) = hi.subtractingReportingOverflow(lo)
        guard !overflow, span < max(1 << 12, rows) else { return nil }
        var slot = [Int32](repeating: 0, count: Int(span) + 1)
        var table: [Value] = [.null]
        var ids = [Int32](repeating: 0, count: rows)
        values.withUnsafeBufferPointer { vs in
            slot.withUnsafeMutableBufferPointer { slots in
                ids.withUnsafeMutableBufferPointer { out in
                    valueIndex.forEachRow { r, v in
                        let k = Int(vs[v] &- lo)
                        if slots[k] == 0 {
                            slots[k] = Int32(table.count)
                            table.append(type == .timestamp ? .timestamp(vs[v]) : .integer(vs[v]))
                        }
                        out[r] = slots[k]
                    }
                }
            }
        }
        return (ids, table)
    }

    func value(_ id: Int) -> Value {
        if let entries { return id == 0 ? .null : .string(Array(entries[id - 1])) }
        return table[id]
    }
}

/// Maps rows to their dense value index in a chunk (values are stored for rows that have one).
struct ValueIndex {
    /// Value index of each row, -1 for null or absent; nil when every row has a value.
    let indexes: [Int32]?
    let rows: Int

    init(_ chunk: DecodedChunk) {
        rows = chunk.rowCount
        guard chunk.hasMissing else {
            indexes = nil
            return
        }
        let rows = chunk.rowCount
        let nulls = chunk.nulls, absents = chunk.absents
        indexes = [Int32](unsafeUninitializedCapacity: rows) { out, n in
            var next: Int32 = 0
            for byte in 0..<(rows + 7) / 8 {
                let missing = (nulls?[byte] ?? 0) | (absents?[byte] ?? 0)
                if missing == 0 && byte * 8 + 8 <= rows {
                    for bit in 0..<8 { out[byte * 8 + bit] = next &+ Int32(bit) }
                    next &+= 8
                    continue
                }
                for bit in 0..<min(8, rows - byte * 8) {
                    if missing & (1 << UInt8(bit)) != 0 {
                        out[byte * 8 + bit] = -1
                    } else {
                        out[byte * 8 + bit] = next
                        next += 1
                    }
                }
            }
            n = rows
        }
    }

    /// One id a row: `id(valueIndex)` for rows with a value, 0 for null or absent rows.
    @inline(__always)
    func ids(rows: Int, _ id: (Int) -> Int32) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: rows) { out, n in
            if let indexes {
                indexes.withUnsafeBufferPointer { ix in
                    for r in 0..<rows { out[r] = ix[r] >= 0 ? id(Int(ix[r])) : 0 }
                }
            } else {
                for r in 0..<rows { out[r] = id(r) }
            }
            n = rows
        }
    }

    /// Calls `body(group, valueIndex)` for each row with a group (≥ 0) and a value.
    @inline(__always)
    func forEach(_ group: [Int32], _ body: (Int, Int) -> Void) {
        group.withUnsafeBufferPointer { g in
            if let indexes {
                indexes.withUnsafeBufferPointer { ix in
                    for r in 0..<rows where g[r] >= 0 && ix[r] >= 0 { body(Int(g[r]), Int(ix[r])) }
                }
            } else {
                for r in 0..<rows where g[r] >= 0 { body(Int(g[r]), r) }
            }
        }
    }

    /// Calls `body(row, valueIndex)` for each row with a value (and selected, when given).
    @inline(__always)
    func forEachRow(_ selection: [UInt8]? = nil, _ body: (Int, Int) -> Void) {
        switch (indexes, selection) {
        case (nil, nil):
            for r in 0..<rows { body(r, r) }
        case let (ix?, nil):
            ix.withUnsafeBufferPointer { ix in
                for r in 0..<rows where ix[r] >= 0 { body(r, Int(ix[r])) }
            }
        case let (nil, s?):
            s.withUnsafeBufferPointer { s in
                for r in 0..<rows where s[r] == 1 { body(r, r) }
            }
        case let (ix?, s?):
            ix.withUnsafeBufferPointer { ix in
                s.withUnsafeBufferPointer { s in
                    for r in 0..<rows where s[r] == 1 && ix[r] >= 0 { body(r, Int(ix[r])) }
                }
            }
        }
    }
}
