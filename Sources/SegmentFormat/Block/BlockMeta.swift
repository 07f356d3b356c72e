/// Where a block is and what it holds, as the footer records it: enough to prune the block by time
/// or min/max and to read single chunks without reading the rest.
public struct BlockMeta: Sendable, Equatable {
    /// File offset of the block's magic.
    public var offset: UInt64
    /// Framed length: frame header plus body.
    public var length: UInt32
    public var rowCount: Int
    /// Smallest and largest timestamp (ns), when the stream has a timestamp.
    public var timeRange: ClosedRange<Int64>?
    public var chunks: [ChunkMeta]
    /// The block's shredded columns (format version 2), after the regular ones: shredded column `k`
    /// has chunk index `chunks.count + k`.
    public var shredded: [ShreddedChunk] = []

    public init(offset: UInt64, length: UInt32, rowCount: Int, timeRange: ClosedRange<Int64>?, chunks: [ChunkMeta], shredded: [ShreddedChunk] = []) {
        self.offset = offset
        self.length = length
        self.rowCount = rowCount
        self.timeRange = timeRange
        self.chunks = chunks
        self.shredded = shredded
    }

    /// Every chunk entry: the regular columns', then the shredded ones'.
    public var allChunks: [ChunkMeta] { chunks + shredded.map(\.chunk) }

    /// Throws when the block's chunks declare more decompressed bytes in all than a writer can
    /// produce, before anything is decompressed.
    func checkDecodedSize() throws {
        let all = allChunks
        let total = all.reduce(0) { $0 + Int($1.rawLength) }
        let bound = ChunkDecoder.maxBlockRawLength(columns: all.count, rows: rowCount)
        guard total <= bound else {
            throw FormatError("block declares \(total) decompressed bytes in all; a writer produces at most \(bound) for \(rowCount) rows of \(all.count) columns")
        }
    }
}

/// One chunk's entry in the footer.
public struct ChunkMeta: Sendable, Equatable {
    /// Offset of the chunk header from the start of the block frame.
    public var offset: UInt32
    /// Chunk header plus stored payload.
    public var length: UInt32
    public var encoding: Encoding
    public var codec: Codec
    public var rawLength: UInt32
    public var nullCount: Int
    public var absentCount: Int
    public var stats: ColumnStats

    /// Payload bytes as stored (after compression).
    public var storedLength: Int { Int(length) - FormatConstants.chunkHeaderSize }
}

/// A shredded column of a block and its chunk's footer entry.
public struct ShreddedChunk: Sendable, Equatable {
    public var column: ShreddedColumn
    public var chunk: ChunkMeta

    public init(column: ShreddedColumn, chunk: ChunkMeta) {
        self.column = column
        self.chunk = chunk
    }
}
