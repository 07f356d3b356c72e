/// Fills blocks within the limits the format sets on a block (`FormatConstants.maxBlockRows` and
/// `maxBlockRawBytes`) and the writer's own row target: the one place that decides where a block
/// ends, used by `segcat pack` (which parses straight into `block`) and by the ingest server
/// (which copies the rows of many requests in with `take`, splitting a request across blocks
/// when it does not fit).
///
/// Not thread-safe: one writer owns it.
public final class BlockAssembler {
    /// Rows per block the writer aims at, at most `FormatConstants.maxBlockRows`.
    public let maxRows: Int
    /// Raw column bytes past which a block is closed.
    public let maxRawBytes: Int
    /// The block being filled.
    public private(set) var block: BlockBuilder
    /// The row count at which `take` found that the next row does not fit in the bytes left.
    private var closedAt: Int?

    public init(columns: [ColumnDescriptor], maxRows: Int, maxRawBytes: Int = FormatConstants.maxBlockRawBytes) {
        self.maxRows = min(max(1, maxRows), FormatConstants.maxBlockRows)
        self.maxRawBytes = maxRawBytes
        block = BlockBuilder(columns: columns)
    }

    /// Gives up the block being filled (to be encoded elsewhere) and starts an empty one:
    /// `replacement` (emptied) if given.
    public func takeBlock(replacement: BlockBuilder? = nil) -> BlockBuilder {
        let full = block
        block = replacement ?? BlockBuilder(columns: full.columns)
        return full
    }

    /// Whether the block is at its row or byte bound and must be written before more rows go in.
    public var isFull: Bool {
        block.rowCount >= maxRows || block.rawBytes >= maxRawBytes || (block.rowCount > 0 && closedAt == block.rowCount)
    }

    /// Copies rows of `source` (same columns), from `row` on, into the block: as many as fit by
    /// rows and bytes, and at least one into an empty block (a row larger than the byte bound is
    /// a block of its own). Returns the first row not taken, `source.rowCount` when all were.
    public func take(from source: BlockBuilder, startingAt row: Int) -> Int {
        let available = source.rowCount - row
        guard available > 0, !isFull else { return row }
        let roomBytes = maxRawBytes - block.rawBytes
        var count = min(available, maxRows - block.rowCount)
        if source.rawBytes(rows: row..<(row + count)) > roomBytes {
            // The largest count whose bytes fit, by bisection (the bytes grow with the count).
            var low = 0
            var high = count
            while low < high {
                let mid = (low + high + 1) / 2
                if source.rawBytes(rows: row..<(row + mid)) <= roomBytes { low = mid } else { high = mid - 1 }
            }
            count = max(low, block.rowCount == 0 ? 1 : 0)
        }
        guard count > 0 else {
            // The next row does not fit in the bytes left: the block is full.
            closedAt = block.rowCount
            return row
        }
        block.append(rows: row..<(row + count), of: source)
        return row + count
    }
}

extension BlockBuilder {
    /// Raw column bytes of `rows`, as `rawBytes` counts them for the whole block.
    public func rawBytes(rows: Range<Int>) -> Int {
        builders.reduce(0) { $0 + $1.rawBytes(values: $1.values(of: rows)) }
    }

    /// Appends `rows` of `other` (same columns) after this block's rows.
    public func append(rows: Range<Int>, of other: BlockBuilder) {
        let shift = rowCount - rows.lowerBound
        for (mine, theirs) in zip(builders, other.builders) {
            mine.append(values: theirs.values(of: rows), of: theirs)
            mine.nullRows.append(contentsOf: theirs.nullRows[ColumnBuilder.span(of: rows, in: theirs.nullRows)].lazy.map { UInt32(Int($0) + shift) })
            mine.absentRows.append(contentsOf: theirs.absentRows[ColumnBuilder.span(of: rows, in: theirs.absentRows)].lazy.map { UInt32(Int($0) + shift) })
        }
        rowCount += rows.count
    }
}

extension ColumnBuilder {
    /// The indices in a sorted row list of the rows in `rows`.
    static func span(of rows: Range<Int>, in list: [UInt32]) -> Range<Int> {
        firstIndex(atOrAbove: rows.lowerBound, in: list)..<firstIndex(atOrAbove: rows.upperBound, in: list)
    }

    private static func firstIndex(atOrAbove row: Int, in list: [UInt32]) -> Int {
        var low = 0
        var high = list.count
        while low < high {
            let mid = (low + high) / 2
            if Int(list[mid]) < row { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The dense values that belong to `rows` (rows that are null or absent have none).
    func values(of rows: Range<Int>) -> Range<Int> {
        let skippedBefore = Self.span(of: 0..<rows.lowerBound, in: nullRows).count + Self.span(of: 0..<rows.lowerBound, in: absentRows).count
        let skippedIn = Self.span(of: rows, in: nullRows).count + Self.span(of: rows, in: absentRows).count
        let first = rows.lowerBound - skippedBefore
        return first..<(first + rows.count - skippedIn)
    }

    /// Raw bytes of the values `values`, as `rawBytes` counts them.
    func rawBytes(values: Range<Int>) -> Int {
        switch descriptor.type {
        case .integer, .timestamp, .number: values.count * 8
        case .boolean: values.count
        case .string, .json, .extra:
            Int(strings.offsets[values.upperBound] - strings.offsets[values.lowerBound]) + values.count * 4
        }
    }

    /// Appends the values `values` of `other` (same type).
    func append(values: Range<Int>, of other: ColumnBuilder) {
        guard !values.isEmpty else { return }
        switch descriptor.type {
        case .integer, .timestamp: integers.append(contentsOf: other.integers[values])
        case .number: numbers.append(contentsOf: other.numbers[values])
        case .boolean: booleans.append(contentsOf: other.booleans[values])
        case .string, .json, .extra:
            let start = other.strings.offsets[values.lowerBound]
            let end = other.strings.offsets[values.upperBound]
            let base = UInt32(strings.bytes.count)
            strings.bytes.append(contentsOf: other.strings.bytes[Int(start)..<Int(end)])
            strings.offsets.append(contentsOf: other.strings.offsets[(values.lowerBound + 1)...values.upperBound].lazy.map { $0 - start + base })
        }
    }
}
