import SegmentFormat

/// One block of one segment while a query looks at it: decodes each column the first time it is
/// asked for (from the bytes its source read) and keeps it, and counts what it decoded (for
/// `--stats` and the pruning tests).
final class BlockData {
    let segment: QuerySegment
    let block: Int
    let rowCount: Int
    private let bytes: SegmentBytes
    private var chunks: [Int: DecodedChunk] = [:]
    /// Log-text chunks kept as templates and variables; nil entries: not log-text.
    private var logTexts: [Int: (chunk: DecodedChunk, values: LogTextValues)?] = [:]

    init(segment: QuerySegment, block: Int, bytes: SegmentBytes) {
        self.segment = segment
        self.block = block
        self.bytes = bytes
        self.rowCount = segment.blocks[block].rowCount
    }

    var decodedChunks: Int { chunks.count + logTexts.values.filter { $0 != nil }.count }

    /// The query's paths into json and extra columns (`QueryRunner.Source.paths`): path `k` reads as
    /// chunks `header.columns.count + 4k + view` (`PathViews.View`).
    var paths: [(parent: Int, keys: [[UInt8]])] = []
    private var pathViews: [Int: PathViews] = [:]

    func chunk(_ column: Int) throws -> DecodedChunk {
        if let c = chunks[column] { return c }
        let columns = segment.header.columns.count
        let c = column < columns ? try segment.chunk(block: block, column: column, from: bytes)
                                 : try views(path: (column - columns) / 4).chunks[(column - columns) % 4]
        chunks[column] = c
        return c
    }

    /// The type of chunk `column` in this block (a path's type may differ from block to block).
    func type(_ column: Int) throws -> ColumnType {
        let columns = segment.header.columns
        return column < columns.count ? columns[column].type : try views(path: (column - columns.count) / 4).types[(column - columns.count) % 4]
    }

    /// Path `k`'s views: its shredded column alone when that holds every value, else its values
    /// taken from the parent's text.
    func views(path k: Int) throws -> PathViews {
        if let v = pathViews[k] { return v }
        guard k < paths.count else { throw QueryError("internal error: path \(k) of \(paths.count) was read", kind: .cannotRun) }
        let (parent, keys) = paths[k]
        let meta = segment.blocks[block]
        let v: PathViews
        if let s = PathViews.typedColumn(meta, parent: parent, keys: keys) {
            let chunk = try segment.chunk(block: block, column: segment.header.columns.count + s, from: bytes)
            v = PathViews.typed(chunk, type: meta.shredded[s].column.type)
        } else {
            v = try PathViews.extract(try chunk(parent), members: segment.header.columns[parent].type == .extra, keys: keys)
        }
        pathViews[k] = v
        return v
    }

    /// Column `column` as templates and variables when its chunk is log-text (nil otherwise), for
    /// conditions answered on the templates first.
    func logText(_ column: Int) throws -> (chunk: DecodedChunk, values: LogTextValues)? {
        if let known = logTexts[column] { return known }
        guard column < segment.header.columns.count else { return nil }
        var found: (chunk: DecodedChunk, values: LogTextValues)?
        if segment.blocks[block].chunks[column].encoding == .logText {
            let slot = ChunkDecoder.LogTextSlot()
            let chunk = try segment.chunk(block: block, column: column, from: bytes, logText: slot)
            found = slot.values.map { (chunk, $0) }
        }
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
