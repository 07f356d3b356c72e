/// Reads one chunk (header and stored payload) back into a `DecodedChunk`, checking its crc,
/// codec, bitmaps and value section against the format spec. Never traps on bad bytes: every
/// inconsistency throws a `FormatError`.
public enum ChunkDecoder {
    /// The fixed-size header of a chunk.
    public struct Header: Sendable, Equatable {
        public var column: Int
        public var encoding: Encoding
        public var codec: Codec
        public var hasNulls: Bool
        public var hasAbsents: Bool
        public var valueCount: Int
        public var rawLength: Int
        public var storedLength: Int
        public var crc: UInt32
    }

    public static func readHeader(_ r: inout ByteReader) throws -> Header {
        let column = Int(try r.u16())
        let encodingCode = try r.u8()
        let codecCode = try r.u8()
        let flags = try r.u8()
        let reserved = try r.u8()
        let valueCount = Int(try r.u32())
        let rawLength = Int(try r.u32())
        let storedLength = Int(try r.u32())
        let crc = try r.u32()
        guard let encoding = Encoding(rawValue: encodingCode) else { throw FormatError("unknown encoding \(encodingCode)") }
        guard let codec = Codec(rawValue: codecCode) else { throw FormatError("unknown codec \(codecCode)") }
        guard flags & ~3 == 0, reserved == 0 else { throw FormatError("unknown chunk flags \(flags)/\(reserved)") }
        return Header(column: column, encoding: encoding, codec: codec, hasNulls: flags & 1 != 0, hasAbsents: flags & 2 != 0,
                      valueCount: valueCount, rawLength: rawLength, storedLength: storedLength, crc: crc)
    }

    /// Decodes the chunk that starts at `chunk` (header first) for `column`, in a block of `rowCount`
    /// rows of a file of format `version`. A shredded-json chunk's values are rebuilt from the block's
    /// `shredded` columns, which `children` decodes (by block index) when asked. Given `logText`, a
    /// log-text chunk's values are left there as templates and variables instead of rebuilt.
    public static func decode(_ chunk: UnsafeRawBufferPointer, column: ColumnDescriptor, columnIndex: Int, rowCount: Int,
                              version: UInt16 = FormatConstants.formatVersion, json: JSONText.Kind? = nil, shredded: [ShreddedColumn] = [],
                              logText: LogTextSlot? = nil,
                              children: (Set<Int>) throws -> [Int: DecodedChunk] = { _ in [:] }) throws -> DecodedChunk {
        let json = json ?? JSONText.Kind(column.type)
        var r = ByteReader(chunk, context: "chunk")
        let h = try readHeader(&r)
        guard h.column == columnIndex else { throw FormatError("chunk names column \(h.column), expected \(columnIndex)") }
        guard h.encoding.applies(to: column.type, version: version), h.codec.formatVersion <= version else {
            throw FormatError("encoding \(h.encoding.name) with codec \(h.codec.name) does not apply to a \(column.type.name) column in a version \(version) file")
        }
        guard h.valueCount <= rowCount else { throw FormatError("chunk holds \(h.valueCount) values in a block of \(rowCount) rows") }
        let bound = maxRawLength(column.type, rows: rowCount, values: h.valueCount)
        guard h.rawLength <= bound else {
            throw FormatError("chunk declares \(h.rawLength) decompressed bytes; a writer produces at most \(bound) for \(h.valueCount) \(column.type.name) values in \(rowCount) rows")
        }
        let stored = try r.bytes(h.storedLength)
        guard Checksum.crc32(stored) == h.crc else { throw FormatError("chunk checksum mismatch") }
        let payload = try h.codec.decompress(stored, rawLength: h.rawLength)
        return try payload.withUnsafeBytes { p in
            var pr = ByteReader(p, context: "chunk payload")
            let bitmapBytes = (rowCount + 7) / 8
            let nulls = h.hasNulls ? Array(try pr.bytes(bitmapBytes)) : nil
            let absents = h.hasAbsents ? Array(try pr.bytes(bitmapBytes)) : nil
            let missing = try countMissing(nulls, absents, rowCount: rowCount)
            guard h.valueCount == rowCount - missing else {
                throw FormatError("chunk holds \(h.valueCount) values but its bitmaps leave \(rowCount - missing) rows with a value")
            }
            let section = try pr.bytes(pr.remaining)
            if h.encoding == .shreddedJSON {
                let parent = try ShreddedJSONEncoding.decode(section, count: h.valueCount, column: columnIndex, shredded: shredded)
                var rows: [Int] = []
                rows.reserveCapacity(h.valueCount)
                let partial = DecodedChunk(rowCount: rowCount, nulls: nulls, absents: absents, values: .none)
                for row in 0..<rowCount where !partial.isNull(row) && !partial.isAbsent(row) { rows.append(row) }
                let texts = try parent.render(rows: rows, children: try children(parent.referencedColumns), shredded: shredded)
                try checkJSON(texts, json)
                return DecodedChunk(rowCount: rowCount, nulls: nulls, absents: absents, values: .strings(texts), residualCount: parent.residual.count)
            }
            if h.encoding == .logText, let keep = logText {
                keep.values = try LogTextEncoding.decode(section, count: h.valueCount)
                return DecodedChunk(rowCount: rowCount, nulls: nulls, absents: absents, values: .none)
            }
            let values = try decodeValues(h.encoding, column.type, json, section, count: h.valueCount)
            return DecodedChunk(rowCount: rowCount, nulls: nulls, absents: absents, values: values)
        }
    }

    /// Where `decode` leaves a log-text chunk's values unrebuilt (its chunk then has values `.none`).
    public final class LogTextSlot {
        public var values: LogTextValues?
        public init() {}
    }

    /// The most decompressed bytes a writer can produce for a chunk of `type` holding `values`
    /// values in a block of `rows` rows (spec: Limits): the two bitmaps, and for fixed-size types at
    /// most 16 bytes a value (a 10-byte varint, or a dictionary entry and its code) plus headers.
    public static func maxRawLength(_ type: ColumnType, rows: Int, values: Int) -> Int {
        let bitmaps = 2 * ((rows + 7) / 8)
        switch type {
        case .integer, .timestamp, .number, .boolean: return bitmaps + 16 * values + 64
        case .string, .json, .extra: return FormatConstants.maxChunkRawBytes
        }
    }

    /// The most decompressed bytes a writer can produce for all chunks of one block (spec: Limits).
    public static func maxBlockRawLength(columns: Int, rows: Int) -> Int {
        FormatConstants.maxBlockValueBytes + columns * 2 * ((rows + 7) / 8)
    }

    private static func countMissing(_ nulls: [UInt8]?, _ absents: [UInt8]?, rowCount: Int) throws -> Int {
        var missing = 0
        let tailMask: UInt8 = rowCount % 8 == 0 ? 0 : ~UInt8((1 << (rowCount % 8)) - 1)
        for bitmap in [nulls, absents].compactMap({ $0 }) {
            if let last = bitmap.last, last & tailMask != 0 { throw FormatError("bitmap has bits set past the last row") }
            for b in bitmap { missing += b.nonzeroBitCount }
        }
        if let nulls, let absents {
            for i in 0..<nulls.count where nulls[i] & absents[i] != 0 {
                throw FormatError("a row is marked both null and absent")
            }
        }
        return missing
    }

    /// Every value of a json or extra column must be JSON text of its kind, so that copying it into
    /// NDJSON output cannot end the record early or add one.
    static func checkJSON(_ values: StringValues, _ kind: JSONText.Kind) throws {
        try values.bytes.withUnsafeBytes { all in
            for i in 0..<values.count where !JSONText.isValid(UnsafeRawBufferPointer(rebasing: all[values.range(i)]), kind) {
                let what = switch kind {
                case .container: "a JSON object or array"
                case .members: "a list of JSON object members"
                case .value: "a JSON value"
                }
                throw FormatError("value \(i) is not \(what) on one line")
            }
        }
    }

    private static func decodeValues(_ encoding: Encoding, _ type: ColumnType, _ json: JSONText.Kind, _ section: UnsafeRawBufferPointer, count: Int) throws -> ColumnValues {
        if count == 0 || encoding == .empty {
            guard count == 0, encoding == .empty, section.isEmpty else {
                throw FormatError("encoding \(encoding.name) with \(count) values and \(section.count) value bytes is inconsistent")
            }
            return .none
        }
        switch encoding {
        case .plainInt64, .forBitpack, .deltaBitpack, .deltaVarint, .dodVarint, .dictInt64:
            return .integers(try IntegerEncoding.decode(encoding, section, count: count))
        case .plainString:
            let values = try StringEncoding.decodePlain(section, count: count, validateUTF8: true)
            if type == .json || type == .extra { try checkJSON(values, json) }
            return .strings(values)
        case .dictString:
            let (entries, codes) = try StringEncoding.decodeDictionary(section, count: count)
            guard type == .json else { return .dictionary(entries: entries, codes: codes) }
            // Readers take a dictionary to hold strings; json texts come back as texts.
            try checkJSON(entries, json)
            let total = codes.reduce(0) { $0 + entries.length(Int($1)) }
            guard total <= FormatConstants.maxChunkRawBytes else {
                throw FormatError("dictionary values would take \(total) bytes, more than a chunk holds (\(FormatConstants.maxChunkRawBytes))")
            }
            var texts = StringValues()
            texts.offsets.reserveCapacity(count + 1)
            for c in codes { texts.append(entries[Int(c)]) }
            return .strings(texts)
        case .logText:
            return .strings(try LogTextEncoding.decode(section, count: count).materialize())
        case .shreddedJSON:
            throw FormatError("a shredded-json chunk is decoded with its block's shredded columns")
        case .bitmap:
            return .booleans(try ScalarEncoding.decodeBitmap(section, count: count))
        case .plainFloat64, .xorFloat64:
            return .numbers(try ScalarEncoding.decodeFloats(section, count: count, xor: encoding == .xorFloat64))
        case .empty:
            return .none
        }
    }
}
