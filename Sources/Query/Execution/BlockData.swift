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

    init(segment: QuerySegment, block: Int, bytes: SegmentBytes) {
        self.segment = segment
        self.block = block
        self.bytes = bytes
        self.rowCount = segment.blocks[block].rowCount
    }

    var decodedChunks: Int { chunks.count }

    func chunk(_ column: Int) throws -> DecodedChunk {
        if let c = chunks[column] { return c }
        let c = try segment.chunk(block: block, column: column, from: bytes)
        chunks[column] = c
        return c
    }

    /// A chunk where every row is absent: how a field the segment lacks reads.
    static func absent(rows: Int) -> DecodedChunk {
        var bitmap = [UInt8](repeating: 0xFF, count: (rows + 7) / 8)
        if rows % 8 != 0 { bitmap[bitmap.count - 1] = UInt8((1 << (rows % 8)) - 1) }
        return DecodedChunk(rowCount: rows, nulls: nil, absents: bitmap, values: .none)
    }
}
