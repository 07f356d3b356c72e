/// The first part of a segment: who wrote it, for which tenant and stream, under which schema,
/// and the column table readers decode with (spec: Header).
public struct SegmentHeader: Sendable, Equatable {
    /// Format version of the file: which codes its blocks may use (spec: What changes the version).
    public var version: UInt16
    public var tenant: String
    public var stream: String
    public var node: String
    public var segmentID: String
    /// Creation time, ns since the epoch.
    public var created: Int64
    public var blockRows: Int
    /// The stream schema document, as the writer loaded it.
    public var schemaText: [UInt8]
    public var columns: [ColumnDescriptor]

    public init(version: UInt16 = FormatConstants.formatVersion, tenant: String, stream: String, node: String, segmentID: String,
                created: Int64, blockRows: Int, schemaText: [UInt8], columns: [ColumnDescriptor]) {
        self.version = version
        self.tenant = tenant
        self.stream = stream
        self.node = node
        self.segmentID = segmentID
        self.created = created
        self.blockRows = blockRows
        self.schemaText = schemaText
        self.columns = columns
    }

    /// A header for a stream's segment; `segmentID` defaults to 128 random bits in hex.
    public init(schema: StreamSchema, tenant: String = "", node: String = "", segmentID: String? = nil,
                created: Int64, blockRows: Int = FormatConstants.defaultBlockRows, version: UInt16 = FormatConstants.formatVersion) {
        self.init(version: version, tenant: tenant, stream: schema.name, node: node,
                  segmentID: segmentID ?? (0..<2).map { _ in String(UInt64.random(in: .min ... .max), radix: 16).leftPadded(16) }.joined(),
                  created: created, blockRows: blockRows, schemaText: schema.text, columns: schema.columns)
    }

    public var timestampColumn: Int? { columns.firstIndex { $0.isTimestamp } }

    /// The header's bytes: preamble, body and crc.
    public func encoded() -> [UInt8] {
        var body = ByteWriter(capacity: schemaText.count + 64 * columns.count + 128)
        for s in [tenant, stream, node, segmentID] { body.str16(Array(s.utf8.prefix(Int(UInt16.max)))) }
        body.i64(created)
        body.u32(UInt32(blockRows))
        body.str32(schemaText)
        body.u16(UInt16(columns.count))
        for c in columns {
            body.str16(c.nameBytes)
            body.u8(c.type.rawValue)
            body.u8(c.flags)
        }
        var out = ByteWriter(capacity: body.count + 16)
        out.append(FormatConstants.headerMagic)
        out.u16(version)
        out.u16(0)
        out.u32(UInt32(body.count))
        out.append(body.bytes)
        out.u32(Checksum.crc32(body.bytes))
        return out.bytes
    }

    /// The header's whole length from `preamble`, a segment's first
    /// `FormatConstants.headerPreambleSize` bytes (or more), so a reader of a remote file knows how
    /// much of its start to fetch.
    public static func encodedLength(preamble: UnsafeRawBufferPointer) throws -> Int {
        guard preamble.count >= FormatConstants.headerPreambleSize, preamble.prefix(4).elementsEqual(FormatConstants.headerMagic) else {
            throw FormatError("not a segment file (bad magic)")
        }
        var r = ByteReader(preamble, position: 8, context: "header")
        return FormatConstants.headerPreambleSize + Int(try r.u32()) + 4
    }

    /// Reads a header from the start of `file`; returns it and the offset just past it.
    public static func decode(_ file: UnsafeRawBufferPointer) throws -> (SegmentHeader, Int) {
        var r = ByteReader(file, context: "header")
        guard file.count >= 4, file.prefix(4).elementsEqual(FormatConstants.headerMagic) else {
            throw FormatError("not a segment file (bad magic)")
        }
        _ = try r.bytes(4)
        let version = try r.u16()
        guard (FormatConstants.oldestFormatVersion...FormatConstants.formatVersion).contains(version) else {
            throw FormatError("unsupported segment format version \(version) (this reader knows versions \(FormatConstants.oldestFormatVersion) to \(FormatConstants.formatVersion))")
        }
        let flags = try r.u16()
        guard flags == 0 else { throw FormatError("unknown header flags 0x\(String(flags, radix: 16))") }
        let length = Int(try r.u32())
        let bodyBytes = try r.bytes(length)
        let crc = try r.u32()
        guard Checksum.crc32(bodyBytes) == crc else { throw FormatError("header checksum mismatch") }

        var b = ByteReader(bodyBytes, context: "header")
        func text() throws -> String {
            let raw = try b.str16()
            guard UTF8Validation.isValid(raw) else { throw FormatError("header text is not valid UTF-8") }
            return String(decoding: raw, as: UTF8.self)
        }
        let tenant = try text(), stream = try text(), node = try text(), segmentID = try text()
        let created = try b.i64()
        let blockRows = Int(try b.u32())
        let schemaText = try b.str32()
        let count = Int(try b.u16())
        guard count <= FormatConstants.maxColumns else { throw FormatError("header declares \(count) columns, more than \(FormatConstants.maxColumns)") }
        var columns: [ColumnDescriptor] = []
        for i in 0..<count {
            let name = try text()
            let typeCode = try b.u8()
            let flags = try b.u8()
            guard let type = ColumnType(rawValue: typeCode) else { throw FormatError("column \(i) has unknown type \(typeCode)") }
            guard flags & ~0x0F == 0 else { throw FormatError("column \(i) has unknown flags 0x\(String(flags, radix: 16))") }
            guard (flags & 8 != 0) == (type == .extra) else { throw FormatError("column \(i): extra flag and type disagree") }
            guard type == .extra ? (i == count - 1 && name.isEmpty) : !name.isEmpty else {
                throw FormatError("column \(i): only the last column may be the extra column, and only it has an empty name")
            }
            guard flags & 4 == 0 || type == .timestamp else { throw FormatError("column \(i) is marked as the timestamp but is not a timestamp") }
            columns.append(ColumnDescriptor(name: name, type: type, nullable: flags & 1 != 0, required: flags & 2 != 0, isTimestamp: flags & 4 != 0))
        }
        guard columns.filter(\.isTimestamp).count <= 1 else { throw FormatError("more than one column is marked as the timestamp") }
        guard b.isAtEnd else { throw FormatError("header has \(b.remaining) unexpected bytes after the column table") }
        let header = SegmentHeader(version: version, tenant: tenant, stream: stream, node: node, segmentID: segmentID, created: created,
                                   blockRows: blockRows, schemaText: schemaText, columns: columns)
        return (header, r.position)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
