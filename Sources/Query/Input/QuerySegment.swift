import SegmentFormat

/// A segment opened for a query: its source and layout. Decodes chunks from bytes its source read,
/// checking each against the footer, so that every byte used is covered by a checksum: the chunk's
/// own crc covers its payload, and its header must agree with the footer, which has its own crc.
public final class QuerySegment: Sendable {
    public let source: any SegmentSource
    public let layout: SegmentLayout

    public init(source: any SegmentSource, layout: SegmentLayout) {
        self.source = source
        self.layout = layout
    }

    public var name: String { source.name }
    public var header: SegmentHeader { layout.header }
    public var blocks: [BlockMeta] { layout.blocks }
    public var timeRange: ClosedRange<Int64>? { layout.timeRange }

    /// Decodes chunk `column` of block `block` from `bytes` (a regular column, or shredded column
    /// `column - header.columns.count`); a json or extra column whose values were shredded comes back
    /// whole, rebuilt from its shredded columns. Given `logText`, a log-text chunk's values are left
    /// there as templates and variables. Throws `FormatError` (located) when the chunk is damaged,
    /// and `MissingBytes` when `bytes` lacks it (a read plan that missed a column).
    public func chunk(block: Int, column: Int, from bytes: SegmentBytes, logText: ChunkDecoder.LogTextSlot? = nil) throws -> DecodedChunk {
        do {
            return try decode(block: block, index: column, from: bytes, logText: logText)
        } catch let e as FormatError {
            throw e.located(block: block, column: layout.chunkName(block: block, column: column))
        }
    }

    private func decode(block: Int, index: Int, from bytes: SegmentBytes, logText: ChunkDecoder.LogTextSlot?) throws -> DecodedChunk {
        let range = layout.chunkRange(block: block, column: index)
        guard let raw = bytes.bytes(range) else { throw MissingBytes(segment: name, block: block, column: index) }
        let meta = layout.blocks[block]
        let columns = layout.header.columns
        let shredded = index >= columns.count
        let c = layout.chunkMeta(block: block, column: index)
        let descriptor = shredded ? ColumnDescriptor(name: meta.shredded[index - columns.count].column.pathText,
                                                     type: meta.shredded[index - columns.count].column.type, nullable: true)
                                  : columns[index]
        var r = ByteReader(raw, context: "chunk")
        let h = try ChunkDecoder.readHeader(&r)
        guard h.encoding == c.encoding, h.codec == c.codec, h.rawLength == Int(c.rawLength), h.storedLength == c.storedLength else {
            throw FormatError("chunk header disagrees with the footer")
        }
        if shredded && c.encoding == .shreddedJSON { throw FormatError("a shredded column cannot itself be shredded") }
        let table = meta.shredded.map(\.column)
        return try ChunkDecoder.decode(raw, column: descriptor, columnIndex: index, rowCount: meta.rowCount, version: layout.header.version,
                                       json: shredded ? .value : nil, shredded: shredded ? [] : table, logText: logText) { references in
            var children: [Int: DecodedChunk] = [:]
            for k in references.sorted() {
                do {
                    children[k] = try decode(block: block, index: columns.count + k, from: bytes, logText: nil)
                } catch let e as FormatError {
                    throw FormatError(e.reason, column: table[k].pathText)
                }
            }
            return children
        }
    }
}

/// A chunk that was needed but not read: a read plan that left out a column the query decodes.
/// A bug, reported as such, never a silent skip.
public struct MissingBytes: Error, CustomStringConvertible, Sendable {
    public let segment: String
    public let block: Int
    public let column: Int
    public var description: String { "\(segment): internal error: block \(block), column \(column) was needed but not read" }
}

extension QuerySegment {
    /// A segment already read whole (tests, data in memory), named `name`.
    public convenience init(name: String, reader: SegmentReader) {
        self.init(source: LocalSegmentSource(name: name, bytes: reader.data, files: OpenSegmentFiles(capacity: 1)),
                  layout: SegmentLayout(reader, keepingFile: true))
    }
}

extension QueryRunner {
    /// Runs the query over segments already read whole, each with its path (tests, data in memory).
    public func run(_ readers: [(path: String, reader: SegmentReader)]) throws {
        try run(readers.map { QuerySegment(name: $0.path, reader: $0.reader) })
    }
}
