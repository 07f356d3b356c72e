#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        /// Damaged stretches the walk skipped to reach a later intact block, or that a sealed file
        /// holds before its footer: their rows are lost. An unfinished last block of a segment
        /// whose writer died (or is still writing) is not listed: it never held finished rows.
        public let damaged: [DamagedRange]

        /// Blocks the damaged stretches hold, as far as their frames can still be told apart.
        public var damagedBlocks: Int { damaged.reduce(0) { $0 + $1.blocks } }
        /// Rows of the damaged blocks, by their (unverified) block headers; nil when a header is unreadable.
        public var damagedRows: Int? {
            damaged.reduce(0 as Int?) { total, range in total.flatMap { t in range.rows.map { t + $0 } } }
        }

        public var description: String {
            var text = "no valid footer (\(footerProblem)); recovered the blocks before offset \(stoppedAt)"
            if let stopReason { text += ", stopped: \(stopReason)" }
            for range in damaged { text += "; skipped \(range)" }
            return text
        }
    }

    /// A stretch of a segment that holds no intact block, between or after intact ones.
    public struct DamagedRange: Sendable, CustomStringConvertible {
        public let offset: Int
        public let length: Int
        /// Block frames that start in it (at least 1).
        public let blocks: Int
        /// Rows those frames' headers declare, when every one is readable and plausible.
        public let rows: Int?
        public let reason: String

        public var description: String {
            let rowText = rows.map { "\($0) rows" } ?? "an unknown number of rows"
            return "\(length) damaged bytes at offset \(offset) (\(blocks) block\(blocks == 1 ? "" : "s"), \(rowText)): \(reason)"
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
            let (footer, _) = try SegmentFooter.decode(file, headerEnd: headerEnd, columns: header.columns, version: header.version)
            blocks = footer.blocks
            recovery = nil
        } catch let footerError as FormatError {
            let walk = Self.walkBlocks(file, from: headerEnd, header: header)
            blocks = walk.blocks
            recovery = Recovery(footerProblem: footerError.description, stoppedAt: walk.stoppedAt, stopReason: walk.stopReason,
                                damaged: walk.damaged)
        }
    }

    public var isSealed: Bool { recovery == nil }
    public var rowCount: Int { blocks.reduce(0) { $0 + $1.rowCount } }
    public var timeRange: ClosedRange<Int64>? { SegmentFooter(blocks: blocks, version: header.version).timeRange }

    /// Decodes column `column` of block `block`, checking the chunk's crc and structure. A json or
    /// extra column whose values were shredded comes back whole, rebuilt from the shredded columns.
    public func chunk(block: Int, column: Int) throws -> DecodedChunk {
        do {
            return try Self.decodeChunk(frame(block), meta: blocks[block], index: column, header: header)
        } catch let e as FormatError {
            throw e.located(block: block, column: header.columns[column].name)
        }
    }

    /// Decodes shredded column `index` of block `block` (`blocks[block].shredded[index]`).
    public func shreddedChunk(block: Int, index: Int) throws -> DecodedChunk {
        do {
            return try Self.decodeChunk(frame(block), meta: blocks[block], index: header.columns.count + index, header: header)
        } catch let e as FormatError {
            throw e.located(block: block, column: blocks[block].shredded[index].column.pathText)
        }
    }

    /// The bytes of block `block`'s frame, as the footer (or the walk) places it.
    private func frame(_ block: Int) -> UnsafeRawBufferPointer {
        let meta = blocks[block]
        return UnsafeRawBufferPointer(rebasing: data.bytes[Int(meta.offset)..<(Int(meta.offset) + Int(meta.length))])
    }

    /// Decodes chunk `index` of a block (the regular columns, then the shredded ones) from its frame.
    static func decodeChunk(_ frame: UnsafeRawBufferPointer, meta: BlockMeta, index: Int, header: SegmentHeader) throws -> DecodedChunk {
        let columns = header.columns
        let c: ChunkMeta
        let descriptor: ColumnDescriptor
        if index < columns.count {
            c = meta.chunks[index]
            descriptor = columns[index]
        } else {
            let s = meta.shredded[index - columns.count]
            c = s.chunk
            descriptor = ColumnDescriptor(name: s.column.pathText, type: s.column.type, nullable: true)
            guard c.encoding != .shreddedJSON else { throw FormatError("a shredded column cannot itself be shredded") }
        }
        guard Int(c.offset) + Int(c.length) <= frame.count else { throw FormatError("chunk runs past its block") }
        let bytes = UnsafeRawBufferPointer(rebasing: frame[Int(c.offset)..<(Int(c.offset) + Int(c.length))])
        let table = meta.shredded.map(\.column)
        return try ChunkDecoder.decode(bytes, column: descriptor, columnIndex: index, rowCount: meta.rowCount, version: header.version,
                                       json: index < columns.count ? nil : .value, shredded: index < columns.count ? table : []) { references in
            var children: [Int: DecodedChunk] = [:]
            for k in references.sorted() {
                do {
                    children[k] = try decodeChunk(frame, meta: meta, index: columns.count + k, header: header)
                } catch let e as FormatError {
                    throw FormatError(e.reason, column: table[k].pathText)
                }
            }
            return children
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
        let parsed = try Self.parseBlockBody(body, header: header)
        guard parsed.rowCount == meta.rowCount, parsed.timeRange == meta.timeRange else {
            throw FormatError("block disagrees with the footer on its row count or time range")
        }
        guard parsed.shredded.map(\.column) == meta.shredded.map(\.column) else {
            throw FormatError("block's shredded columns disagree with the footer")
        }
        let chunks = meta.allChunks, parsedChunks = parsed.allChunks
        for index in chunks.indices {
            let name = index < header.columns.count ? header.columns[index].name : meta.shredded[index - header.columns.count].column.pathText
            let type = index < header.columns.count ? header.columns[index].type : meta.shredded[index - header.columns.count].column.type
            let c = chunks[index], p = parsedChunks[index]
            guard p.offset == c.offset, p.length == c.length, p.encoding == c.encoding, p.codec == c.codec, p.rawLength == c.rawLength else {
                throw FormatError("chunk disagrees with the footer", column: name)
            }
            let decoded: DecodedChunk
            do {
                decoded = try Self.decodeChunk(frame(i), meta: meta, index: index, header: header)
            } catch let e as FormatError {
                throw e.located(block: i, column: name)
            }
            let nulls = decoded.nulls.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? 0
            let absents = decoded.absents.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? 0
            guard nulls == c.nullCount, absents == c.absentCount else {
                throw FormatError("null or absent count disagrees with the footer", column: name)
            }
            guard Self.stats(of: decoded, type) == c.stats else {
                throw FormatError("min/max stats disagree with the values", column: name)
            }
            if index < header.columns.count, header.columns[index].isTimestamp, case let .integers(v) = decoded.values,
               let lo = v.min(), let hi = v.max(), meta.timeRange != lo...hi {
                throw FormatError("block time range disagrees with its timestamps", column: name)
            }
        }
    }

    /// Recomputes the stats a writer stores for a decoded chunk, to check a footer's.
    static func stats(of chunk: DecodedChunk, _ type: ColumnType) -> ColumnStats {
        if let residual = chunk.residualCount { return .residual(residual) }
        return stats(of: chunk.values, type)
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

    /// Parses a block body's fixed fields, chunk headers and (version 2) shredded table; offsets
    /// relative to the frame start.
    static func parseBlockBody(_ body: UnsafeRawBufferPointer, header: SegmentHeader) throws -> BlockMeta {
        let columns = header.columns
        var r = ByteReader(body, context: "block")
        let rows = Int(try r.u32())
        guard rows >= 1, rows <= FormatConstants.maxBlockRows else { throw FormatError("block has \(rows) rows") }
        let range = try SegmentFooter.readRange(&r)
        let count = Int(try r.u16())
        guard count == columns.count else { throw FormatError("block has \(count) chunks for \(columns.count) columns") }
        func chunk(_ index: Int, _ type: ColumnType, _ name: String) throws -> ChunkMeta {
            let start = r.position
            let h = try ChunkDecoder.readHeader(&r)
            guard h.column == index else { throw FormatError("chunk \(index) names column \(h.column)") }
            guard h.encoding.applies(to: type, version: header.version), h.codec.formatVersion <= header.version else {
                throw FormatError("encoding \(h.encoding.name) does not apply to a \(type.name) column", column: name)
            }
            _ = try r.bytes(h.storedLength)
            return ChunkMeta(offset: UInt32(FormatConstants.blockFrameSize + start), length: UInt32(r.position - start),
                             encoding: h.encoding, codec: h.codec, rawLength: UInt32(h.rawLength),
                             nullCount: 0, absentCount: 0, stats: .none)
        }
        var chunks: [ChunkMeta] = []
        for (ci, column) in columns.enumerated() { chunks.append(try chunk(ci, column.type, column.name)) }
        var shredded: [ShreddedChunk] = []
        if header.version >= 2 {
            let k = Int(try r.u16())
            guard k <= FormatConstants.maxShreddedColumns else { throw FormatError("block has \(k) shredded columns") }
            let table = try (0..<k).map { _ in try ShreddedColumn.read(&r, columns: columns) }
            for (j, column) in table.enumerated() {
                shredded.append(ShreddedChunk(column: column, chunk: try chunk(columns.count + j, column.type, column.pathText)))
            }
        }
        guard r.isAtEnd else { throw FormatError("block has \(r.remaining) bytes after its last chunk") }
        let meta = BlockMeta(offset: 0, length: UInt32(body.count + FormatConstants.blockFrameSize), rowCount: rows, timeRange: range,
                             chunks: chunks, shredded: shredded)
        try meta.checkDecodedSize()
        return meta
    }

    /// Footer facts of a recovered block: null and absent counts and stats, from its decoded chunks.
    static func completeMeta(_ meta: inout BlockMeta, frame: UnsafeRawBufferPointer, header: SegmentHeader) throws {
        let columns = header.columns
        for index in 0..<(columns.count + meta.shredded.count) {
            let decoded = try decodeChunk(frame, meta: meta, index: index, header: header)
            let nulls = decoded.nulls.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? 0
            let absents = decoded.absents.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } } ?? 0
            if index < columns.count {
                meta.chunks[index].nullCount = nulls
                meta.chunks[index].absentCount = absents
                meta.chunks[index].stats = stats(of: decoded, columns[index].type)
            } else {
                let k = index - columns.count
                meta.shredded[k].chunk.nullCount = nulls
                meta.shredded[k].chunk.absentCount = absents
                meta.shredded[k].chunk.stats = stats(of: decoded, meta.shredded[k].column.type)
            }
        }
    }

    /// Walks block frames from `start` and keeps every block that is whole and sound, with the
    /// footer facts recomputed from its chunks (so a resumed writer can seal it correctly). After a
    /// damaged block it resynchronises on the next block magic that starts a sound block, so intact
    /// later blocks are kept and the stretch between is reported as damaged.
    ///
    /// A stretch that runs to the end of the file is an unfinished block (the writer died or is
    /// still writing) unless the file ends with the trailing magic: a sealed file lost its footer,
    /// so what stands before the footer's place was damaged, not unfinished.
    static func walkBlocks(_ file: UnsafeRawBufferPointer, from start: Int, header: SegmentHeader)
        -> (blocks: [BlockMeta], stoppedAt: Int, stopReason: String?, damaged: [DamagedRange]) {
        var blocks: [BlockMeta] = []
        var damaged: [DamagedRange] = []
        var offset = start
        // Trying a candidate costs a crc over its declared body: a file full of fake magics must not
        // make that quadratic, so all candidates together may check at most a few times the file.
        var resyncBudget = 4 * file.count + (1 << 20)
        while offset < file.count {
            let reason: String
            do {
                blocks.append(try block(file, at: offset, header: header))
                offset += Int(blocks[blocks.count - 1].length)
                continue
            } catch {
                let hasMagic = file.count - offset >= 4 && file[offset..<(offset + 4)].elementsEqual(FormatConstants.blockMagic)
                reason = hasMagic ? "\(error)" : "no block starts here (\(error))"
            }
            var next = offset + 1
            var found: BlockMeta?
            while let candidate = nextMagic(file, from: next), resyncBudget > 0 {
                resyncBudget -= FormatConstants.blockFrameSize + min(Int(peekU32(file, candidate + 4) ?? 0), file.count - candidate)
                if let meta = try? block(file, at: candidate, header: header) {
                    found = meta
                    next = candidate
                    break
                }
                next = candidate + 1
            }
            if let found {
                damaged.append(damagedRange(file, offset..<next, reason: reason))
                blocks.append(found)
                offset = next + Int(found.length)
                continue
            }
            if let footerStart = sealedFooterStart(file, after: offset) {
                // A sealed file whose footer is damaged: the walk ending at the footer lost nothing.
                if offset < footerStart { damaged.append(damagedRange(file, offset..<footerStart, reason: reason)) }
                return (blocks, footerStart, nil, damaged)
            }
            return (blocks, offset, "block \(blocks.count): \(reason)", damaged)
        }
        return (blocks, offset, nil, damaged)
    }

    /// The block whose frame starts at `offset`, checked down to its chunks.
    private static func block(_ file: UnsafeRawBufferPointer, at offset: Int, header: SegmentHeader) throws -> BlockMeta {
        let body = try frameBody(file, at: offset, expectedLength: nil)
        var meta = try parseBlockBody(body, header: header)
        meta.offset = UInt64(offset)
        try completeMeta(&meta, frame: UnsafeRawBufferPointer(rebasing: file[offset..<(offset + Int(meta.length))]), header: header)
        return meta
    }

    /// Offset of the next block magic at or after `from`.
    private static func nextMagic(_ file: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard let base = file.baseAddress, from < file.count else { return nil }
        let magic = FormatConstants.blockMagic
        var i = from
        while i + magic.count <= file.count {
            guard let hit = memchr(base + i, Int32(magic[0]), file.count - i) else { return nil }
            i = base.distance(to: UnsafeRawPointer(hit))
            if i + magic.count <= file.count && file[i..<(i + magic.count)].elementsEqual(magic) { return i }
            i += 1
        }
        return nil
    }

    private static func peekU32(_ file: UnsafeRawBufferPointer, _ offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= file.count else { return nil }
        return UInt32(littleEndian: file.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Where the footer of a sealed file starts (by its trailer, which is unchecked here), when the
    /// file ends with the trailing magic and that place is at or after `offset`.
    private static func sealedFooterStart(_ file: UnsafeRawBufferPointer, after offset: Int) -> Int? {
        let size = file.count
        guard size - offset >= FormatConstants.footerTrailerSize,
              file[(size - 4)...].elementsEqual(FormatConstants.trailerMagic),
              let length = peekU32(file, size - 8) else { return nil }
        let start = size - FormatConstants.footerTrailerSize - Int(length)
        return start >= offset ? start : size - FormatConstants.footerTrailerSize
    }

    /// Describes a damaged stretch: the block frames that start in it and the rows their headers declare.
    private static func damagedRange(_ file: UnsafeRawBufferPointer, _ range: Range<Int>, reason: String) -> DamagedRange {
        var frames = 0
        var rows: Int? = 0
        var at: Int? = range.lowerBound
        while let position = at, position < range.upperBound {
            let isFrame = position + 4 <= file.count && file[position..<(position + 4)].elementsEqual(FormatConstants.blockMagic)
            if isFrame || position == range.lowerBound {
                frames += 1
                let declared = isFrame ? peekU32(file, position + FormatConstants.blockFrameSize).map(Int.init) : nil
                if let declared, (1...FormatConstants.maxBlockRows).contains(declared) {
                    rows = rows.map { $0 + declared }
                } else {
                    rows = nil
                }
            }
            at = nextMagic(file, from: position + 1)
        }
        return DamagedRange(offset: range.lowerBound, length: range.count, blocks: max(frames, 1), rows: rows, reason: reason)
    }
}
