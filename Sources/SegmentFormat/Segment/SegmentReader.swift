/// Opens a segment: reads the header, then the footer, or, when the footer is missing or damaged,
/// recovers every complete block by walking the block frames (spec: Reading a segment whose
/// writer died). Reads single chunks on demand and checks a whole file for `verify`.
///
/// Immutable after `init`; safe to use from several threads at once.
public final class SegmentReader: Sendable {
    public let data: SegmentData
    public let header: SegmentHeader
    /// Offset just past the header, where the first block starts.
    public let headerEnd: Int
    public let blocks: [BlockMeta]
    /// Set when the segment has no valid footer: why, and where the block walk stopped.
    public let recovery: Recovery?

    /// What a reader did with a segment that has no valid footer.
    public struct Recovery: Sendable, CustomStringConvertible {
        /// Why the footer was not used.
        public let footerProblem: String
        /// Offset where the block walk stopped; equal to the file size when it ran to the end.
        public let stoppedAt: Int
        /// Why the walk stopped there, when it did not reach the end of the file.
        public let stopReason: String?

        public var description: String {
            "no valid footer (\(footerProblem)); recovered the blocks before offset \(stoppedAt)" + (stopReason.map { ", stopped: \($0)" } ?? "")
        }
    }

    public convenience init(path: String) throws {
        try self.init(data: SegmentData(contentsOf: path))
    }

    public init(data: SegmentData) throws {
        self.data = data
        let file = data.bytes
        (header, headerEnd) = try SegmentHeader.decode(file)
        do {
            let (footer, _) = try SegmentFooter.decode(file, headerEnd: headerEnd, columns: header.columns)
            blocks = footer.blocks
            recovery = nil
        } catch let footerError as FormatError {
            let walk = Self.walkBlocks(file, from: headerEnd, columns: header.columns)
            blocks = walk.blocks
            recovery = Recovery(footerProblem: footerError.description, stoppedAt: walk.stoppedAt, stopReason: walk.stopReason)
        }
    }

    public var isSealed: Bool { recovery == nil }
    public var rowCount: Int { blocks.reduce(0) { $0 + $1.rowCount } }
    public var timeRange: ClosedRange<Int64>? { SegmentFooter(blocks: blocks).timeRange }

    /// Decodes column `column` of block `block`, checking the chunk's crc and structure.
    public func chunk(block: Int, column: Int) throws -> DecodedChunk {
        let meta = blocks[block]
        let c = meta.chunks[column]
        let start = Int(meta.offset) + Int(c.offset)
        do {
            let bytes = UnsafeRawBufferPointer(rebasing: data.bytes[start..<(start + Int(c.length))])
            return try ChunkDecoder.decode(bytes, column: header.columns[column], columnIndex: column, rowCount: meta.rowCount)
        } catch let e as FormatError {
            throw e.located(block: block, column: header.columns[column].name)
        }
    }

    /// The frame body of block `index`, after checking its magic, length and crc.
    public func checkedBlockBody(_ index: Int) throws -> UnsafeRawBufferPointer {
        let meta = blocks[index]
        do {
            return try Self.frameBody(data.bytes, at: Int(meta.offset), expectedLength: Int(meta.length))
        } catch let e as FormatError {
            throw e.located(block: index)
        }
    }

    /// Checks everything: the footer (or reports the recovery), each block's frame, body and
    /// agreement with the footer, and every chunk down to its values and stats.
    /// Returns one error per bad block (or for the file), empty when the segment is sound.
    public func verify() -> [FormatError] {
        var problems: [FormatError] = []
        if let recovery { problems.append(FormatError(recovery.description)) }
        for i in blocks.indices {
            do {
                try verifyBlock(i)
            } catch let e as FormatError {
                problems.append(e.located(block: i))
            } catch {
                problems.append(FormatError("\(error)", block: i))
            }
        }
        return problems
    }

    private func verifyBlock(_ i: Int) throws {
        let meta = blocks[i]
        let body = try checkedBlockBody(i)
        let parsed = try Self.parseBlockBody(body, columns: header.columns)
        guard parsed.rowCount == meta.rowCount, parsed.timeRange == meta.timeRange else {
            throw FormatError("block disagrees with the footer on its row count or time range")
        }
        for (ci, column) in header.columns.enumerated() {
            let c = meta.chunks[ci]
            let p = parsed.chunks[ci]
            guard p.offset == c.offset, p.length == c.length, p.encoding == c.encoding, p.codec == c.codec, p.rawLength == c.rawLength else {
                throw FormatError("chunk disagrees with the footer", column: column.name)
            }
            let decoded = try chunk(block: i, column: ci)
            let nulls = decoded.nulls.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? 0
            let absents = decoded.absents.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? 0
            guard nulls == c.nullCount, absents == c.absentCount else {
                throw FormatError("null or absent count disagrees with the footer", column: column.name)
            }
            guard Self.stats(of: decoded.values, column.type) == c.stats else {
                throw FormatError("min/max stats disagree with the values", column: column.name)
            }
            if column.isTimestamp, case let .integers(v) = decoded.values, let lo = v.min(), let hi = v.max(), meta.timeRange != lo...hi {
                throw FormatError("block time range disagrees with its timestamps", column: column.name)
            }
        }
    }

    /// Recomputes the stats a writer stores for `values`, to check a footer's.
    static func stats(of values: ColumnValues, _ type: ColumnType) -> ColumnStats {
        let builder = ColumnBuilder(ColumnDescriptor(name: "x", type: type))
        switch values {
        case .none: return .none
        case let .integers(v): builder.integers = v
        case let .numbers(v): builder.numbers = v
        case let .booleans(v): builder.booleans = v
        case let .strings(v): builder.strings = v
        case let .dictionary(entries, codes):
            guard type == .string, let lo = codes.min(), let hi = codes.max() else { return .none }
            let cut = FormatConstants.maxStatBytes
            return .bytes(min: Array(entries[Int(lo)].prefix(cut)), max: Array(entries[Int(hi)].prefix(cut)), maxTruncated: entries.length(Int(hi)) > cut)
        }
        return ColumnStats.of(builder)
    }

    // MARK: Block frames

    static func frameBody(_ file: UnsafeRawBufferPointer, at offset: Int, expectedLength: Int?) throws -> UnsafeRawBufferPointer {
        var r = ByteReader(file, position: offset, context: "block frame")
        try r.expect(FormatConstants.blockMagic, "block")
        let length = Int(try r.u32())
        let crc = try r.u32()
        if let expectedLength, expectedLength != length + FormatConstants.blockFrameSize {
            throw FormatError("block length \(length + FormatConstants.blockFrameSize) disagrees with the footer's \(expectedLength)")
        }
        let body = try r.bytes(length)
        guard Checksum.crc32(body) == crc else { throw FormatError("block checksum mismatch") }
        return body
    }

    /// Parses a block body's fixed fields and chunk headers (offsets relative to the frame start).
    static func parseBlockBody(_ body: UnsafeRawBufferPointer, columns: [ColumnDescriptor]) throws -> BlockMeta {
        var r = ByteReader(body, context: "block")
        let rows = Int(try r.u32())
        guard rows >= 1, rows <= FormatConstants.maxBlockRows else { throw FormatError("block has \(rows) rows") }
        let range = try SegmentFooter.readRange(&r)
        let count = Int(try r.u16())
        guard count == columns.count else { throw FormatError("block has \(count) chunks for \(columns.count) columns") }
        var chunks: [ChunkMeta] = []
        for (ci, column) in columns.enumerated() {
            let start = r.position
            let h = try ChunkDecoder.readHeader(&r)
            guard h.column == ci else { throw FormatError("chunk \(ci) names column \(h.column)") }
            guard h.encoding.applies(to: column.type) else {
                throw FormatError("encoding \(h.encoding.name) does not apply to a \(column.type.name) column", column: column.name)
            }
            _ = try r.bytes(h.storedLength)
            chunks.append(ChunkMeta(offset: UInt32(FormatConstants.blockFrameSize + start), length: UInt32(r.position - start),
                                    encoding: h.encoding, codec: h.codec, rawLength: UInt32(h.rawLength),
                                    nullCount: 0, absentCount: 0, stats: .none))
        }
        guard r.isAtEnd else { throw FormatError("block has \(r.remaining) bytes after its last chunk") }
        return BlockMeta(offset: 0, length: UInt32(body.count + FormatConstants.blockFrameSize), rowCount: rows, timeRange: range, chunks: chunks)
    }

    /// Footer facts of a recovered block: null and absent counts and stats, from its decoded chunks.
    static func completeMeta(_ meta: inout BlockMeta, frame: UnsafeRawBufferPointer, columns: [ColumnDescriptor]) throws {
        for (ci, column) in columns.enumerated() {
            let c = meta.chunks[ci]
            let chunkBytes = UnsafeRawBufferPointer(rebasing: frame[Int(c.offset)..<Int(c.offset + c.length)])
            let decoded = try ChunkDecoder.decode(chunkBytes, column: column, columnIndex: ci, rowCount: meta.rowCount)
            meta.chunks[ci].nullCount = decoded.nulls.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? 0
            meta.chunks[ci].absentCount = decoded.absents.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? 0
            meta.chunks[ci].stats = stats(of: decoded.values, column.type)
        }
    }

    /// Walks block frames from `start` and keeps every block that is whole and sound, with the
    /// footer facts recomputed from its chunks (so a resumed writer can seal it correctly).
    static func walkBlocks(_ file: UnsafeRawBufferPointer, from start: Int, columns: [ColumnDescriptor]) -> (blocks: [BlockMeta], stoppedAt: Int, stopReason: String?) {
        var blocks: [BlockMeta] = []
        var offset = start
        while offset < file.count {
            do {
                let body = try frameBody(file, at: offset, expectedLength: nil)
                var meta = try parseBlockBody(body, columns: columns)
                meta.offset = UInt64(offset)
                try completeMeta(&meta, frame: UnsafeRawBufferPointer(rebasing: file[offset..<(offset + Int(meta.length))]), columns: columns)
                blocks.append(meta)
                offset += Int(meta.length)
            } catch {
                let reason = file.count - offset >= 4 && file[offset..<(offset + 4)].elementsEqual(FormatConstants.blockMagic)
                    ? "\(error)" : "no block starts here (\(error))"
                return (blocks, offset, "block \(blocks.count): \(reason)")
            }
        }
        return (blocks, offset, nil)
    }
}
