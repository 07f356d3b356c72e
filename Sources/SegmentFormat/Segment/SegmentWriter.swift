/// Lays out a segment: the header, then each encoded block at the next offset, then the footer.
///
/// It produces bytes and never touches files, so callers choose the I/O (a temp file and rename for
/// `segcat pack`, async appends and fsync for the server). A value type; not shared across threads.
public struct SegmentWriter: Sendable {
    public let header: SegmentHeader
    public let headerBytes: [UInt8]
    public private(set) var blocks: [BlockMeta] = []
    /// Bytes laid out so far: the header and every block.
    public private(set) var size: Int

    public init(header: SegmentHeader) {
        self.header = header
        self.headerBytes = header.encoded()
        self.size = headerBytes.count
    }

    /// Continues a segment whose blocks were recovered by a reader (a writer that died before its footer).
    public init(resuming reader: SegmentReader) {
        self.header = reader.header
        self.headerBytes = header.encoded()
        self.blocks = reader.blocks
        self.size = reader.blocks.last.map { Int($0.offset) + Int($0.length) } ?? reader.headerEnd
    }

    public var rowCount: Int { blocks.reduce(0) { $0 + $1.rowCount } }

    /// The time range of every block so far, nil without a timestamp column or rows.
    public var timeRange: ClosedRange<Int64>? {
        blocks.compactMap(\.timeRange).reduce(nil) { all, r in
            all.map { min($0.lowerBound, r.lowerBound)...max($0.upperBound, r.upperBound) } ?? r
        }
    }

    /// Forgets the blocks that end past `size` bytes (the caller cuts the file to match).
    public mutating func dropBlocks(endingAfter limit: Int) {
        while let last = blocks.last, Int(last.offset) + Int(last.length) > limit {
            blocks.removeLast()
        }
        size = blocks.last.map { Int($0.offset) + Int($0.length) } ?? headerBytes.count
    }

    /// Registers `block` at the current end and returns the bytes to append to the file.
    public mutating func append(_ block: BlockEncoder.EncodedBlock) -> [UInt8] {
        // An encoder set up for another version than the file's is a bug in the caller, never input.
        precondition(block.formatVersion == header.version, "a version \(block.formatVersion) block in a version \(header.version) segment")
        var meta = block.meta
        meta.offset = UInt64(size)
        blocks.append(meta)
        size += block.bytes.count
        return block.bytes
    }

    /// The footer that seals the segment; append it after the last block.
    public func footer() -> [UInt8] { SegmentFooter(blocks: blocks, version: header.version).encoded() }
}
