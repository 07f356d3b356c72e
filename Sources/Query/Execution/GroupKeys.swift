import SegmentFormat

/// Assigns each row of a block to a group (0, 1, 2... in first-seen order) by its group-by values.
/// A single dictionary-encoded key column maps codes straight to groups, with no per-row key;
/// other keys are built as values and hashed.
struct GroupKeys {
    private var cursors: [ColumnCursor?]
    /// Group keys in first-seen order.
    private(set) var keys: [[Value]] = []
    private var index: [[Value]: Int] = [:]
    /// Fast path: the one key column's dictionary codes, each code's group (-1: none yet).
    private let codes: [UInt32]?
    private var codeGroup: [Int]
    private var entries: [Value]
    private var nullGroup = -1
    private var valueIndex = 0
    private let chunk: DecodedChunk?

    /// One (chunk, type) per group-by field; nil for a field the segment lacks.
    init(_ columns: [(DecodedChunk, ColumnType)?]) {
        cursors = columns.map { $0.map { ColumnCursor($0.0, type: $0.1) } }
        if columns.count == 1, let (chunk, _) = columns[0], case let .dictionary(e, c) = chunk.values {
            codes = c
            codeGroup = Array(repeating: -1, count: e.count)
            entries = (0..<e.count).map { .string(Array(e[$0])) }
            self.chunk = chunk
        } else {
            codes = nil
            codeGroup = []
            entries = []
            chunk = nil
        }
    }

    mutating func group(row: Int) -> Int {
        if let codes, let chunk {
            if chunk.isNull(row) || chunk.isAbsent(row) {
                if nullGroup < 0 { nullGroup = add([.null]) }
                return nullGroup
            }
            let code = Int(codes[valueIndex])
            valueIndex += 1
            if codeGroup[code] < 0 { codeGroup[code] = add([entries[code]]) }
            return codeGroup[code]
        }
        var key: [Value] = []
        key.reserveCapacity(cursors.count)
        for k in cursors.indices { key.append(cursors[k]?.value(row: row) ?? .null) }
        if let g = index[key] { return g }
        return add(key)
    }

    mutating func skip(row: Int) {
        if let chunk, codes != nil {
            if !(chunk.isNull(row) || chunk.isAbsent(row)) { valueIndex += 1 }
            return
        }
        for k in cursors.indices { cursors[k]?.skip(row: row) }
    }

    private mutating func add(_ key: [Value]) -> Int {
        keys.append(key)
        index[key] = keys.count - 1
        return keys.count - 1
    }
}
