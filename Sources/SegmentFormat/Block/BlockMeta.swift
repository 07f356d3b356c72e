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

    /// Throws when the block's chunks declare more decompressed bytes in all than a writer can
    /// produce, before anything is decompressed.
    func checkDecodedSize() throws {
        let total = chunks.reduce(0) { $0 + Int($1.rawLength) }
        let bound = ChunkDecoder.maxBlockRawLength(columns: chunks.count, rows: rowCount)
        guard total <= bound else {
            throw FormatError("block declares \(total) decompressed bytes in all; a writer produces at most \(bound) for \(rowCount) rows of \(chunks.count) columns")
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
