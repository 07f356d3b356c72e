/// Turns a `BlockBuilder`'s rows into one framed block: per column, the encoding that comes out
/// smallest after compression, the codec, the null and absent bitmaps, a crc, and min/max stats.
///
/// Pure computation, no I/O: the server runs it off the request path. Hot path; guarded by
/// `tools/bench/format`.
public struct BlockEncoder: Sendable {
    public let compression: CompressionSetting
    /// How many of the smallest raw candidates to compress before choosing (more is smaller and slower).
    public let candidatesTried: Int

    public init(compression: CompressionSetting, candidatesTried: Int = 3) {
        self.compression = compression
        self.candidatesTried = max(1, candidatesTried)
    }

    /// A framed block and its footer entry (offset 0: the writer places it).
    public struct EncodedBlock: Sendable {
        public let bytes: [UInt8]
        public let meta: BlockMeta
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
        for (index, builder) in block.builders.enumerated() {
            let chunkStart = body.count
            let chunk = encodeChunk(builder, rows: rows)
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
            chunks.append(ChunkMeta(
                offset: UInt32(FormatConstants.blockFrameSize + chunkStart),
                length: UInt32(body.count - chunkStart),
                encoding: chunk.encoding, codec: chunk.codec, rawLength: UInt32(chunk.rawLength),
                nullCount: builder.nullRows.count, absentCount: builder.absentRows.count,
                stats: ColumnStats.of(builder)))
        }
        var frame = ByteWriter(capacity: body.count + FormatConstants.blockFrameSize)
        frame.append(FormatConstants.blockMagic)
        frame.u32(UInt32(body.count))
        frame.u32(Checksum.crc32(body.bytes))
        frame.append(body.bytes)
        let meta = BlockMeta(offset: 0, length: UInt32(frame.count), rowCount: rows, timeRange: timeRange, chunks: chunks)
        return EncodedBlock(bytes: frame.bytes, meta: meta)
    }

    private struct Chunk {
        var encoding: Encoding
        var codec: Codec
        var rawLength: Int
        var stored: [UInt8]
    }

    private func encodeChunk(_ builder: ColumnBuilder, rows: Int) -> Chunk {
        var prefix: [UInt8] = []
        for rowList in [builder.nullRows, builder.absentRows] where !rowList.isEmpty {
            var bitmap = [UInt8](repeating: 0, count: (rows + 7) / 8)
            for r in rowList { bitmap[Int(r >> 3)] |= 1 << (r & 7) }
            prefix.append(contentsOf: bitmap)
        }
        let candidates: [(Encoding, (inout [UInt8]) -> Void)]
        switch builder.descriptor.type {
        case .integer, .timestamp:
            candidates = IntegerEncoding.candidates(builder.integers).map { ($0.encoding, $0.write) }
        case .string:
            candidates = StringEncoding.candidates(builder.strings, allowDictionary: true).map { ($0.encoding, $0.write) }
        case .json, .extra:
            candidates = StringEncoding.candidates(builder.strings, allowDictionary: false).map { ($0.encoding, $0.write) }
        case .boolean:
            candidates = builder.booleans.isEmpty ? [] : [(.bitmap, { ScalarEncoding.writeBitmap(builder.booleans, into: &$0) })]
        case .number:
            candidates = builder.numbers.isEmpty ? [] : [
                (.plainFloat64, { ScalarEncoding.writeFloats(builder.numbers, xor: false, into: &$0) }),
                (.xorFloat64, { ScalarEncoding.writeFloats(builder.numbers, xor: true, into: &$0) }),
            ]
        }
        guard !candidates.isEmpty else { return finish(.empty, prefix) }
        var best: Chunk?
        for (encoding, write) in candidates.prefix(compression.codec == .none ? 1 : candidatesTried) {
            var payload = prefix
            write(&payload)
            let chunk = finish(encoding, payload)
            if let current = best, current.stored.count <= chunk.stored.count { continue }
            best = chunk
        }
        return best ?? finish(.empty, prefix)
    }

    private func finish(_ encoding: Encoding, _ payload: [UInt8]) -> Chunk {
        if let compressed = payload.withUnsafeBytes({ compression.compress($0) }) {
            return Chunk(encoding: encoding, codec: compression.codec, rawLength: payload.count, stored: compressed)
        }
        return Chunk(encoding: encoding, codec: .none, rawLength: payload.count, stored: payload)
    }
}
