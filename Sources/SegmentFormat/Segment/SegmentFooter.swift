/// The end of a sealed segment: every block's place, row count, time range and per-column stats,
/// and the segment's totals (spec: Footer).
public struct SegmentFooter: Sendable, Equatable {
    public var blocks: [BlockMeta]
    /// The file's format version: version 2 lists each block's shredded columns.
    public var version: UInt16

    public init(blocks: [BlockMeta], version: UInt16 = FormatConstants.formatVersion) {
        self.blocks = blocks
        self.version = version
    }

    public var rowCount: Int { blocks.reduce(0) { $0 + $1.rowCount } }

    public var timeRange: ClosedRange<Int64>? {
        let ranges = blocks.compactMap(\.timeRange)
        guard let lo = ranges.map(\.lowerBound).min(), let hi = ranges.map(\.upperBound).max() else { return nil }
        return lo...hi
    }

    /// Footer body, crc, length and trailing magic.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 64 + blocks.count * (40 + (blocks.first?.chunks.count ?? 0) * 48))
        w.u32(UInt32(blocks.count))
        w.u64(UInt64(rowCount))
        writeRange(timeRange, &w)
        for b in blocks {
            w.u64(b.offset)
            w.u32(b.length)
            w.u32(UInt32(b.rowCount))
            writeRange(b.timeRange, &w)
            for c in b.chunks { Self.write(c, &w) }
            guard version >= 2 else { continue }
            w.u16(UInt16(b.shredded.count))
            for s in b.shredded {
                s.column.write(&w)
                Self.write(s.chunk, &w)
            }
        }
        let crc = Checksum.crc32(w.bytes)
        let length = w.count
        w.u32(crc)
        w.u32(UInt32(length))
        w.append(FormatConstants.trailerMagic)
        return w.bytes
    }

    private static func write(_ c: ChunkMeta, _ w: inout ByteWriter) {
        w.u32(c.offset)
        w.u32(c.length)
        w.u8(c.encoding.rawValue)
        w.u8(c.codec.rawValue)
        w.u32(c.rawLength)
        w.u32(UInt32(c.nullCount))
        w.u32(UInt32(c.absentCount))
        c.stats.write(&w)
    }

    private func writeRange(_ range: ClosedRange<Int64>?, _ w: inout ByteWriter) {
        w.u8(range == nil ? 0 : 1)
        w.i64(range?.lowerBound ?? 0)
        w.i64(range?.upperBound ?? 0)
    }

    static func readRange(_ r: inout ByteReader) throws -> ClosedRange<Int64>? {
        let has = try r.u8()
        let lo = try r.i64(), hi = try r.i64()
        guard has <= 1 else { throw FormatError("bad time range flag \(has)") }
        guard has == 1 else { return nil }
        guard lo <= hi else { throw FormatError("time range minimum is after its maximum") }
        return lo...hi
    }

    /// One chunk entry, checked: a known encoding and codec for the type and version, inside its
    /// block and after the previous chunk (`after`, moved past this one).
    private static func readChunk(_ r: inout ByteReader, type: ColumnType, name: String, block i: Int, rows: Int, length: UInt32,
                                  after chunkEnd: inout UInt32, version: UInt16) throws -> ChunkMeta {
        let cOffset = try r.u32(), cLength = try r.u32()
        let encodingCode = try r.u8(), codecCode = try r.u8()
        let raw = try r.u32(), nulls = Int(try r.u32()), absents = Int(try r.u32())
        let stats = try ColumnStats.read(&r)
        guard let encoding = Encoding(rawValue: encodingCode), encoding.applies(to: type, version: version) else {
            throw FormatError("unknown or misapplied encoding \(encodingCode)", block: i, column: name)
        }
        guard let codec = Codec(rawValue: codecCode), codec.formatVersion <= version else { throw FormatError("unknown codec \(codecCode)", block: i, column: name) }
        guard cLength >= UInt32(FormatConstants.chunkHeaderSize), UInt64(cOffset) + UInt64(cLength) <= UInt64(length), cOffset >= chunkEnd else {
            throw FormatError("footer entry points outside its block", block: i, column: name)
        }
        chunkEnd = cOffset + cLength
        guard nulls + absents <= rows else { throw FormatError("footer counts more missing values than rows", block: i, column: name) }
        return ChunkMeta(offset: cOffset, length: cLength, encoding: encoding, codec: codec, rawLength: raw,
                         nullCount: nulls, absentCount: absents, stats: stats)
    }

    /// Reads the footer at the end of `file`, whose header ends at `headerEnd`. Returns the footer
    /// and the offset where its body starts (the end of the last block).
    static func decode(_ file: UnsafeRawBufferPointer, headerEnd: Int, columns: [ColumnDescriptor], version: UInt16) throws -> (SegmentFooter, Int) {
        try decode(tail: file, fileSize: file.count, headerEnd: headerEnd, columns: columns, version: version)
    }

    /// The footer's whole length (body and trailer) from `trailer`, a sealed segment's last
    /// `FormatConstants.footerTrailerSize` bytes (or more), so a reader of a remote file knows how
    /// much of its end to fetch.
    public static func encodedLength(trailer: UnsafeRawBufferPointer) throws -> Int {
        guard trailer.count >= FormatConstants.footerTrailerSize else { throw FormatError("file ends before a footer") }
        guard trailer[(trailer.count - 4)...].elementsEqual(FormatConstants.trailerMagic) else { throw FormatError("no trailing magic: the segment was not sealed") }
        var t = ByteReader(trailer, position: trailer.count - 8, context: "footer trailer")
        return Int(try t.u32()) + FormatConstants.footerTrailerSize
    }

    /// Reads the footer from `tail`, the last `tail.count` bytes of a segment of `fileSize` bytes
    /// (at least `encodedLength(trailer:)` of them), whose header (format `version`) ends at `headerEnd`. Returns the
    /// footer and the file offset where its body starts (the end of the last block).
    public static func decode(tail: UnsafeRawBufferPointer, fileSize size: Int, headerEnd: Int, columns: [ColumnDescriptor],
                              version: UInt16) throws -> (SegmentFooter, Int) {
        guard size >= headerEnd + FormatConstants.footerTrailerSize, tail.count <= size else { throw FormatError("file ends before a footer") }
        let length = try encodedLength(trailer: tail) - FormatConstants.footerTrailerSize
        var t = ByteReader(tail, position: tail.count - FormatConstants.footerTrailerSize, context: "footer trailer")
        let crc = try t.u32()
        let start = size - FormatConstants.footerTrailerSize - length
        guard start >= headerEnd else { throw FormatError("footer length \(length) runs past the header") }
        guard start >= size - tail.count else { throw FormatError("footer of \(length) bytes starts before the bytes given") }
        let tailStart = start - (size - tail.count)
        let body = UnsafeRawBufferPointer(rebasing: tail[tailStart..<(tailStart + length)])
        guard Checksum.crc32(body) == crc else { throw FormatError("footer checksum mismatch") }

        var r = ByteReader(body, context: "footer")
        let count = Int(try r.u32())
        let totalRows = try r.u64()
        let range = try readRange(&r)
        // Each block entry takes at least 33 bytes plus 23 per column: bound the count before allocating.
        guard count <= body.count / (33 + 23 * columns.count) + 1 else { throw FormatError("footer declares \(count) blocks, more than it can hold") }
        var blocks: [BlockMeta] = []
        blocks.reserveCapacity(count)
        var expectedOffset = UInt64(headerEnd)
        for i in 0..<count {
            let offset = try r.u64()
            let length = try r.u32()
            let rows = Int(try r.u32())
            let blockRange = try readRange(&r)
            guard offset == expectedOffset, offset + UInt64(length) <= UInt64(start), length >= UInt32(FormatConstants.blockFrameSize) else {
                throw FormatError("footer entry for block \(i) points outside the block area", block: i)
            }
            guard rows >= 1, rows <= FormatConstants.maxBlockRows else { throw FormatError("footer gives block \(i) \(rows) rows", block: i) }
            expectedOffset = offset + UInt64(length)
            var chunks: [ChunkMeta] = []
            chunks.reserveCapacity(columns.count)
            var chunkEnd = UInt32(FormatConstants.blockFrameSize + 23)
            for column in columns {
                chunks.append(try Self.readChunk(&r, type: column.type, name: column.name, block: i, rows: rows, length: length,
                                                 after: &chunkEnd, version: version))
            }
            var shredded: [ShreddedChunk] = []
            if version >= 2 {
                let count = Int(try r.u16())
                guard count <= FormatConstants.maxShreddedColumns else { throw FormatError("footer gives block \(i) \(count) shredded columns", block: i) }
                chunkEnd += 2
                for _ in 0..<count {
                    let column: ShreddedColumn
                    do {
                        column = try ShreddedColumn.read(&r, columns: columns)
                    } catch let e as FormatError {
                        throw e.located(block: i)
                    }
                    let chunk = try Self.readChunk(&r, type: column.type, name: column.pathText, block: i, rows: rows, length: length,
                                                   after: &chunkEnd, version: version)
                    shredded.append(ShreddedChunk(column: column, chunk: chunk))
                }
            }
            let meta = BlockMeta(offset: offset, length: length, rowCount: rows, timeRange: blockRange, chunks: chunks, shredded: shredded)
            do {
                try meta.checkDecodedSize()
            } catch let e as FormatError {
                throw e.located(block: i)
            }
            blocks.append(meta)
        }
        guard r.isAtEnd else { throw FormatError("footer has \(r.remaining) unexpected bytes") }
        guard expectedOffset == UInt64(start) else { throw FormatError("blocks end at offset \(expectedOffset) but the footer starts at \(start)") }
        let footer = SegmentFooter(blocks: blocks, version: version)
        guard UInt64(footer.rowCount) == totalRows, footer.timeRange == range else {
            throw FormatError("footer totals disagree with its block entries")
        }
        return (footer, start)
    }
}
