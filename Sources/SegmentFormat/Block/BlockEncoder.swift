/// Turns a `BlockBuilder`'s rows into one framed block: per column, the encoding that comes out
/// smallest after compression, the codec, the null and absent bitmaps, a crc, and min/max stats;
/// in format version 2 also the columns shredded from json and extra values (spec: Shredded paths).
///
/// Pure computation, no I/O: the server runs it off the request path. Hot path; guarded by
/// `tools/bench/format`.
public struct BlockEncoder: Sendable {
    public let compression: CompressionSetting
    /// How many of the smallest raw candidates to compress before choosing (more is smaller and slower).
    public let candidatesTried: Int
    /// The format version of the segment the blocks go into: which codes they may use.
    public let formatVersion: UInt16
    /// Bound on the columns a block makes from paths inside json and extra values (0: none).
    public let maxShreddedColumns: Int

    public init(compression: CompressionSetting, candidatesTried: Int = 3, formatVersion: UInt16 = FormatConstants.formatVersion,
                maxShreddedColumns: Int = FormatConstants.defaultMaxShreddedColumns) {
        self.formatVersion = formatVersion
        // A version 1 file has no zstd: the closest codec it knows.
        self.compression = formatVersion < 2 && compression.codec == .zstd ? .zlib9 : compression
        self.candidatesTried = max(1, candidatesTried)
        self.maxShreddedColumns = formatVersion < 2 ? 0 : min(max(0, maxShreddedColumns), FormatConstants.maxShreddedColumns)
    }

    /// A framed block and its footer entry (offset 0: the writer places it).
    public struct EncodedBlock: Sendable {
        public let bytes: [UInt8]
        public let meta: BlockMeta
        /// The format version the block was encoded for.
        public let formatVersion: UInt16
    }

    public func encode(_ block: BlockBuilder) -> EncodedBlock {
        let rows = block.rowCount
        var timeRange: ClosedRange<Int64>?
        if let t = block.columns.firstIndex(where: { $0.isTimestamp }), case let .integer(lo, hi) = ColumnStats.of(block.builders[t]) {
            timeRange = lo...hi
        }
        var body = ByteWriter(capacity: block.rawBytes / 4 + 1024)
        body.u32(UInt32(rows))
        body.u8(timeRange == nil ? 0 : 1)
        body.i64(timeRange?.lowerBound ?? 0)
        body.i64(timeRange?.upperBound ?? 0)
        body.u16(UInt16(block.columns.count))
        var chunks: [ChunkMeta] = []
        chunks.reserveCapacity(block.columns.count)
        var children: [Shredder.Child] = []
        for (index, builder) in block.builders.enumerated() {
            let chunk: Chunk
            let type = builder.descriptor.type
            if (type == .json || type == .extra),
               let (parent, found) = Shredder.shred(builder, rows: rows, parent: index, firstColumn: children.count,
                                                     budget: maxShreddedColumns - children.count) {
                chunk = finish(.shreddedJSON, bitmaps(builder, rows: rows) + { var out: [UInt8] = []; ShreddedJSONEncoding.write(parent, into: &out); return out }())
                children += found
                // The footer tells a reader whether the shredded columns hold every path's values.
                let stats = ColumnStats.residual(parent.residual.count)
                chunks.append(append(chunk, builder, index: index, stats: stats, to: &body))
                continue
            }
            chunk = encodeChunk(builder, rows: rows)
            chunks.append(append(chunk, builder, index: index, stats: ColumnStats.of(builder), to: &body))
        }
        var shredded: [ShreddedChunk] = []
        if formatVersion >= 2 {
            body.u16(UInt16(children.count))
            for child in children {
                body.u16(UInt16(child.column.parent))
                body.u8(child.column.type.rawValue)
                body.u8(UInt8(child.column.path.count))
                for segment in child.column.path { body.str16(segment) }
            }
            for (k, child) in children.enumerated() {
                let chunk = encodeChunk(child.builder, rows: rows)
                let meta = append(chunk, child.builder, index: block.columns.count + k, stats: ColumnStats.of(child.builder), to: &body)
                shredded.append(ShreddedChunk(column: child.column, chunk: meta))
            }
        }
        var frame = ByteWriter(capacity: body.count + FormatConstants.blockFrameSize)
        frame.append(FormatConstants.blockMagic)
        frame.u32(UInt32(body.count))
        frame.u32(Checksum.crc32(body.bytes))
        frame.append(body.bytes)
        let meta = BlockMeta(offset: 0, length: UInt32(frame.count), rowCount: rows, timeRange: timeRange, chunks: chunks, shredded: shredded)
        return EncodedBlock(bytes: frame.bytes, meta: meta, formatVersion: formatVersion)
    }

    /// Writes a chunk (header and payload) at the end of `body`; returns its footer entry.
    private func append(_ chunk: Chunk, _ builder: ColumnBuilder, index: Int, stats: ColumnStats, to body: inout ByteWriter) -> ChunkMeta {
        let chunkStart = body.count
        body.u16(UInt16(index))
        body.u8(chunk.encoding.rawValue)
        body.u8(chunk.codec.rawValue)
        body.u8((builder.nullRows.isEmpty ? 0 : 1) | (builder.absentRows.isEmpty ? 0 : 2))
        body.u8(0)
        body.u32(UInt32(builder.valueCount))
        body.u32(UInt32(chunk.rawLength))
        body.u32(UInt32(chunk.stored.count))
        body.u32(Checksum.crc32(chunk.stored))
        body.append(chunk.stored)
        return ChunkMeta(offset: UInt32(FormatConstants.blockFrameSize + chunkStart), length: UInt32(body.count - chunkStart),
                         encoding: chunk.encoding, codec: chunk.codec, rawLength: UInt32(chunk.rawLength),
                         nullCount: builder.nullRows.count, absentCount: builder.absentRows.count, stats: stats)
    }

    private struct Chunk {
        var encoding: Encoding
        var codec: Codec
        var rawLength: Int
        var stored: [UInt8]
    }

    /// The null bitmap, then the absent bitmap, each only when some row needs it.
    private func bitmaps(_ builder: ColumnBuilder, rows: Int) -> [UInt8] {
        var prefix: [UInt8] = []
        for rowList in [builder.nullRows, builder.absentRows] where !rowList.isEmpty {
            var bitmap = [UInt8](repeating: 0, count: (rows + 7) / 8)
            for r in rowList { bitmap[Int(r >> 3)] |= 1 << (r & 7) }
            prefix.append(contentsOf: bitmap)
        }
        return prefix
    }

    /// A way to lay out a column's values, with its exact size before compression.
    typealias Candidate = (encoding: Encoding, size: Int, write: (inout [UInt8]) -> Void)

    /// The candidates for a chunk, smallest raw size first, and one that is compressed whatever its
    /// raw size (its layout suits the codec).
    private func candidates(_ builder: ColumnBuilder) -> (ranked: [Candidate], alwaysTried: [Candidate]) {
        let v2 = formatVersion >= 2
        switch builder.descriptor.type {
        case .integer, .timestamp:
            let all = IntegerEncoding.candidates(builder.integers, dictionary: v2)
            return (all.filter { !$0.compressesBest }.map { ($0.encoding, $0.size, $0.write) },
                    all.filter(\.compressesBest).map { ($0.encoding, $0.size, $0.write) })
        case .string:
            let ranked = StringEncoding.candidates(builder.strings, allowDictionary: true).map { ($0.encoding, $0.size, $0.write) }
            // Log text is chosen on its compressed size, whatever its raw size.
            let logText = v2 && StringEncoding.looksLikeText(builder.strings) ? LogTextEncoding.candidate(builder.strings).map { (Encoding.logText, $0.size, $0.write) } : nil
            return (ranked, logText.map { [$0] } ?? [])
        case .json:
            return (StringEncoding.candidates(builder.strings, allowDictionary: v2).map { ($0.encoding, $0.size, $0.write) }, [])
        case .extra:
            return (StringEncoding.candidates(builder.strings, allowDictionary: false).map { ($0.encoding, $0.size, $0.write) }, [])
        case .boolean:
            return (builder.booleans.isEmpty ? [] : [(.bitmap, builder.booleans.count / 8, { ScalarEncoding.writeBitmap(builder.booleans, into: &$0) })], [])
        case .number:
            return (builder.numbers.isEmpty ? [] : [
                (.plainFloat64, 8 * builder.numbers.count, { ScalarEncoding.writeFloats(builder.numbers, xor: false, into: &$0) }),
                (.xorFloat64, 8 * builder.numbers.count, { ScalarEncoding.writeFloats(builder.numbers, xor: true, into: &$0) }),
            ], [])
        }
    }

    private func encodeChunk(_ builder: ColumnBuilder, rows: Int) -> Chunk {
        let prefix = bitmaps(builder, rows: rows)
        let (ranked, alwaysTried) = candidates(builder)
        guard !ranked.isEmpty else { return finish(.empty, prefix) }
        var tried = Array(ranked.prefix(compression.codec == .none ? 1 : candidatesTried))
        if compression.codec != .none { tried += alwaysTried }
        var best: Chunk?
        for candidate in tried {
            // A writer never produces a chunk a reader would refuse (spec: Limits).
            guard prefix.count + candidate.size <= ChunkDecoder.maxRawLength(builder.descriptor.type, rows: rows, values: builder.valueCount) else { continue }
            var payload = prefix
            payload.reserveCapacity(prefix.count + candidate.size)
            candidate.write(&payload)
            let chunk = finish(candidate.encoding, payload)
            if let current = best, current.stored.count <= chunk.stored.count { continue }
            best = chunk
        }
        return best ?? finish(.empty, prefix)
    }

    private func finish(_ encoding: Encoding, _ payload: [UInt8]) -> Chunk {
        if let (codec, compressed) = payload.withUnsafeBytes({ compression.compress($0) }) {
            return Chunk(encoding: encoding, codec: codec, rawLength: payload.count, stored: compressed)
        }
        return Chunk(encoding: encoding, codec: .none, rawLength: payload.count, stored: payload)
    }
}
