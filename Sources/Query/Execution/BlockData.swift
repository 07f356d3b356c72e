import SegmentFormat

/// One block of one segment while a query looks at it: decodes each column the first time it is
/// asked for and keeps it, and counts what it decoded (for `--stats` and the pruning tests).
final class BlockData {
    let reader: SegmentReader
    let block: Int
    let rowCount: Int
    private var chunks: [Int: DecodedChunk] = [:]
    /// Log-text chunks kept as templates and variables; nil entries: not log-text.
    private var logTexts: [Int: (chunk: DecodedChunk, values: LogTextValues)?] = [:]

    init(reader: SegmentReader, block: Int) {
        self.reader = reader
        self.block = block
        self.rowCount = reader.blocks[block].rowCount
    }

    var decodedChunks: Int { chunks.count + logTexts.values.filter { $0 != nil }.count }

    func chunk(_ column: Int) throws -> DecodedChunk {
        if let c = chunks[column] { return c }
        let c = try reader.chunk(block: block, column: column)
        chunks[column] = c
        return c
    }

    /// Column `column` as templates and variables when its chunk is log-text (nil otherwise), for
    /// conditions answered on the templates first.
    func logText(_ column: Int) throws -> (chunk: DecodedChunk, values: LogTextValues)? {
        if let known = logTexts[column] { return known }
        let found = try reader.logText(block: block, column: column)
        logTexts[column] = .some(found)
        return found
    }

    /// A chunk where every row is absent: how a field the segment lacks reads.
    static func absent(rows: Int) -> DecodedChunk {
        var bitmap = [UInt8](repeating: 0xFF, count: (rows + 7) / 8)
        if rows % 8 != 0 { bitmap[bitmap.count - 1] = UInt8((1 << (rows % 8)) - 1) }
        return DecodedChunk(rowCount: rows, nulls: nil, absents: bitmap, values: .none)
    }
}
