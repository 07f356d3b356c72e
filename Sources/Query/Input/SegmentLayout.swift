import SegmentFormat

/// What a segment's header and footer say: its schema and columns, and each block's place, rows,
/// time range and column chunks. Enough to prune and plan reads without touching a block.
public struct SegmentLayout: Sendable {
    public let header: SegmentHeader
    /// File offset just past the header, where the first block starts.
    public let headerEnd: Int
    public let blocks: [BlockMeta]
    /// The file's size in bytes.
    public let size: Int
    /// Set when the segment has no valid footer and its blocks were recovered by a walk.
    public let recovery: SegmentReader.Recovery?
    /// The whole file, kept when it had to be read whole (to recover its blocks, or from stdin).
    public let wholeFile: SegmentData?

    public var isSealed: Bool { recovery == nil }
    public var rowCount: Int { blocks.reduce(0) { $0 + $1.rowCount } }
    public var timeRange: ClosedRange<Int64>? { SegmentFooter(blocks: blocks, version: header.version).timeRange }

    /// The layout a reader found in a whole file; `keepingFile` keeps its bytes for later reads.
    public init(_ reader: SegmentReader, keepingFile: Bool) {
        header = reader.header
        headerEnd = reader.headerEnd
        blocks = reader.blocks
        size = reader.data.bytes.count
        recovery = reader.recovery
        wholeFile = keepingFile ? reader.data : nil
    }

    /// The layout of a sealed segment of `size` bytes from its first bytes (`prefix`, at least the
    /// header) and its last (`tail`, at least the footer). Throws `FormatError` when they are not
    /// a sound header and footer.
    public init(size: Int, prefix: UnsafeRawBufferPointer, tail: UnsafeRawBufferPointer) throws {
        let (header, headerEnd) = try SegmentHeader.decode(prefix)
        let (footer, _) = try SegmentFooter.decode(tail: tail, fileSize: size, headerEnd: headerEnd, columns: header.columns, version: header.version)
        self.header = header
        self.headerEnd = headerEnd
        blocks = footer.blocks
        self.size = size
        recovery = nil
        wholeFile = nil
    }

    /// How many bytes the header takes, from at least its first `FormatConstants.headerPreambleSize`.
    public static func headerLength(prefix: UnsafeRawBufferPointer) throws -> Int {
        try SegmentHeader.encodedLength(preamble: prefix)
    }

    /// How many bytes the footer takes (with its trailer), from at least the file's last
    /// `FormatConstants.footerTrailerSize`; throws when the file is not sealed.
    public static func footerLength(tail: UnsafeRawBufferPointer) throws -> Int {
        try SegmentFooter.encodedLength(trailer: tail)
    }

    /// File offsets of chunk `column` of block `block` (a regular column, or shredded column
    /// `column - header.columns.count` of the block).
    public func chunkRange(block: Int, column: Int) -> Range<Int> {
        let c = chunkMeta(block: block, column: column)
        let start = Int(blocks[block].offset) + Int(c.offset)
        return start..<(start + Int(c.length))
    }

    /// The footer entry of chunk `column` of block `block` (regular columns, then shredded ones).
    public func chunkMeta(block: Int, column: Int) -> ChunkMeta {
        let b = blocks[block]
        return column < b.chunks.count ? b.chunks[column] : b.shredded[column - b.chunks.count].chunk
    }

    /// What errors call chunk `column` of block `block`: its column's name, or its shredded path.
    public func chunkName(block: Int, column: Int) -> String {
        column < header.columns.count ? header.columns[column].name : blocks[block].shredded[column - header.columns.count].column.pathText
    }

    /// Chunk indexes of block `block`'s shredded columns made from column `column`'s values.
    public func shreddedChunks(block: Int, of column: Int) -> [Int] {
        blocks[block].shredded.indices.filter { blocks[block].shredded[$0].column.parent == column }.map { header.columns.count + $0 }
    }
}
